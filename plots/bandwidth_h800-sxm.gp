# bandwidth_h800-sxm.gp - bandwidth of the operators without FLOPs: GB/s and % of the HBM roof
# Written by `kbench plot`; re-render by hand with
#   gnuplot -e 'fmt="png"' bandwidth_h800-sxm.gp     (or svg, txt)
if (!exists("fmt")) fmt = "png"
if (fmt eq "png") { set terminal pngcairo size 1400,850 font "Sans,11" noenhanced; set output "bandwidth_h800-sxm.png" }
if (fmt eq "svg") { set terminal svg size 1400,850 font "Sans,11" noenhanced background "white"; set output "bandwidth_h800-sxm.svg" }
if (fmt eq "txt") { set terminal dumb size 130,42 noenhanced; set output }
set datafile missing "NaN"
set grid lc rgb "#dddddd"
set title "Bandwidth on h800-sxm: operators without FLOPs, achieved GB/s of their minimum HBM bytes per shape - projected, nothing measured"
set xrange [-0.5:143.5]
set xtics nomirror rotate by -30 left font ",9" ("hbm (0..3)" 1.5, "fp8_quant (4..32)" 18, "moe_dispatch (33..104)" 68.5, "moe_combine (105..128)" 116.5, "ep_dispatch (129..130)" 129.5, "ep_combine (131..132)" 131.5, "alltoall (133..143)" 138)
set yrange [0:3852.5]
set ytics nomirror
set ylabel "GB/s (minimum HBM bytes / time)"
set y2range [0:115]
set y2tics
set y2label "% of the HBM roof (datasheet 3350 GB/s)"
set key outside right top vertical Left reverse box
set bmargin 10
plot \
  3350 with lines dt 2 lw 2 lc rgb "#444444" title "HBM 3350 GB/s (datasheet)", \
  "bandwidth_h800-sxm.dat" index 0 using 1:2 with points pt 6 ps 1.8 lw 1.5 lc rgb "#393b79" title "hbm roofline projected", \
  "bandwidth_h800-sxm.dat" index 1 using 1:2 with points pt 6 ps 1.8 lw 1.5 lc rgb "#9467bd" title "fp8_quant roofline projected", \
  "bandwidth_h800-sxm.dat" index 2 using 1:2 with points pt 6 ps 1.8 lw 1.5 lc rgb "#2ca02c" title "moe_dispatch roofline projected", \
  "bandwidth_h800-sxm.dat" index 3 using 1:2 with points pt 6 ps 1.8 lw 1.5 lc rgb "#d62728" title "moe_combine roofline projected", \
  "bandwidth_h800-sxm.dat" index 4 using 1:2 with points pt 6 ps 1.8 lw 1.5 lc rgb "#e377c2" title "ep_dispatch roofline projected", \
  "bandwidth_h800-sxm.dat" index 5 using 1:2 with points pt 6 ps 1.8 lw 1.5 lc rgb "#bcbd22" title "ep_combine roofline projected", \
  "bandwidth_h800-sxm.dat" index 6 using 1:2 with points pt 6 ps 1.8 lw 1.5 lc rgb "#7f7f7f" title "alltoall roofline projected"
