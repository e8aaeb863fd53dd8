# claim_sweep.gp - DeepSeek-V3 step time vs link bandwidth (kbench claim)
# Written by `kbench plot`; re-render by hand with
#   gnuplot -e 'fmt="png"' claim_sweep.gp     (or svg, txt)
if (!exists("fmt")) fmt = "png"
if (fmt eq "png") { set terminal pngcairo size 1600,700 font "Sans,11" noenhanced; set output "claim_sweep.png" }
if (fmt eq "svg") { set terminal svg size 1600,700 font "Sans,11" noenhanced background "white"; set output "claim_sweep.svg" }
if (fmt eq "txt") { set terminal dumb size 130,42 noenhanced; set output }
set datafile missing "NaN"
set grid lc rgb "#dddddd"
set key top right
set yrange [0:*]
set xrange [0:*]
set offsets 0, 0, graph 0.1, 0
set multiplot layout 1,2 title "DeepSeek-V3 step time vs link bandwidth (model, projected)"
set xlabel "NVLink GB/s per direction"
set ylabel "step time (s)"
unset arrow
set arrow 1 from 160, graph 0 to 160, graph 1 nohead dt 3 lc rgb "#999999"
set arrow 2 from 370, graph 0 to 370, graph 1 nohead dt 3 lc rgb "#999999"
set arrow 3 from 370, graph 0 to 370, graph 1 nohead dt 3 lc rgb "#999999"
set arrow 4 from 160, graph 0 to 160, graph 1 nohead dt 3 lc rgb "#999999"
set arrow 5 from 370, graph 0 to 370, graph 1 nohead dt 3 lc rgb "#999999"
set arrow 6 from 370, graph 0 to 370, graph 1 nohead dt 3 lc rgb "#999999"
plot "claim_sweep.dat" index 0 using 1:2 with linespoints pt 6 lw 2 lc rgb "#1f77b4" title "v3-train h800-sxm", \
     "claim_sweep.dat" index 2 using 1:2 with linespoints pt 6 lw 2 lc rgb "#2ca02c" title "v3-train h100-sxm", \
     "claim_sweep.dat" index 4 using 1:2 with linespoints pt 6 lw 2 lc rgb "#9467bd" title "v3-train h200-sxm", \
     "claim_sweep.dat" index 6 using 1:2 with linespoints pt 6 lw 2 lc rgb "#e377c2" title "ep8-intranode h800-sxm", \
     "claim_sweep.dat" index 8 using 1:2 with linespoints pt 6 lw 2 lc rgb "#bcbd22" title "ep8-intranode h100-sxm", \
     "claim_sweep.dat" index 10 using 1:2 with linespoints pt 6 lw 2 lc rgb "#1f77b4" title "ep8-intranode h200-sxm", \
     "claim_sweep_marks.dat" using 4:5 with points pt 7 ps 1.8 lc rgb "#000000" title "GPU at its achievable NVLink (the model's)", \
     "claim_sweep_marks.dat" using 4:($5 + 0.45 * ($0 + 1)):(strcol(1) eq "v3-train" ? sprintf("%s %.0f/dir (datasheet %.0f both)", strcol(2), $4, $6) : "") with labels left offset 0.5,0 font ",9" notitle
set xlabel "InfiniBand GB/s per direction"
set ylabel "step time (s)"
unset arrow
plot "claim_sweep.dat" index 1 using 1:2 with linespoints pt 6 lw 2 lc rgb "#ff7f0e" title "v3-train h800-sxm", \
     "claim_sweep.dat" index 3 using 1:2 with linespoints pt 6 lw 2 lc rgb "#d62728" title "v3-train h100-sxm", \
     "claim_sweep.dat" index 5 using 1:2 with linespoints pt 6 lw 2 lc rgb "#8c564b" title "v3-train h200-sxm", \
     "claim_sweep.dat" index 7 using 1:2 with linespoints pt 6 lw 2 lc rgb "#7f7f7f" title "ep8-intranode h800-sxm", \
     "claim_sweep.dat" index 9 using 1:2 with linespoints pt 6 lw 2 lc rgb "#17becf" title "ep8-intranode h100-sxm", \
     "claim_sweep.dat" index 11 using 1:2 with linespoints pt 6 lw 2 lc rgb "#ff7f0e" title "ep8-intranode h200-sxm"
unset multiplot
