# h800-sxm_vs_h100-sxm.gp - time per operator and configuration, one GPU relative to another
# Written by `kbench plot`; re-render by hand with
#   gnuplot -e 'fmt="png"' h800-sxm_vs_h100-sxm.gp     (or svg, txt)
if (!exists("fmt")) fmt = "png"
if (fmt eq "png") { set terminal pngcairo size 1300,750 font "Sans,11" noenhanced; set output "h800-sxm_vs_h100-sxm.png" }
if (fmt eq "svg") { set terminal svg size 1300,750 font "Sans,11" noenhanced background "white"; set output "h800-sxm_vs_h100-sxm.svg" }
if (fmt eq "txt") { set terminal dumb size 130,42 noenhanced; set output }
set datafile missing "NaN"
set grid lc rgb "#dddddd"
set title "NVIDIA H800 SXM5 80GB vs NVIDIA H100 SXM5 80GB: time per operator and configuration relative to h100-sxm (sum over shapes)\nprojected: no bar is measured (roofline floors, practical link rate)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
set ylabel "time relative to h100-sxm (1 = same)"
set xtics rotate by -25 left
set key outside right top
plot "h800-sxm_vs_h100-sxm.dat" using 2:xtic(1) title "NVIDIA H100 SXM5 80GB" lc rgb "#1e5aa8", \
     "h800-sxm_vs_h100-sxm.dat" using 3 title "NVIDIA H800 SXM5 80GB" lc rgb "#b22222", \
     "h800-sxm_vs_h100-sxm.dat" using ($0+0.17):($3):(sprintf("x%.2f", $6)) with labels offset 0,0.8 font ",10" notitle
