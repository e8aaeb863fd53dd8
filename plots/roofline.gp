# roofline.gp - roofline, GPUs overlaid
# Written by `kbench plot`; re-render by hand with
#   gnuplot -e 'fmt="png"' roofline.gp     (or svg, txt)
if (!exists("fmt")) fmt = "png"
if (fmt eq "png") { set terminal pngcairo size 1500,900 font "Sans,11" noenhanced; set output "roofline.png" }
if (fmt eq "svg") { set terminal svg size 1500,900 font "Sans,11" noenhanced background "white"; set output "roofline.svg" }
if (fmt eq "txt") { set terminal dumb size 130,42 noenhanced; set output }
set datafile missing "NaN"
set grid lc rgb "#dddddd"
set title "Roofline - all GPUs overlaid: 344 points (colour = operator, marker = implementation, filled = measured, hollow = projected)\nevery point is a projection (kbench model roofline floors): nothing measured"
set logscale xy
set xrange [0.1:10000]
set yrange [0.01:10000]
set xlabel "arithmetic intensity (FLOP / byte of HBM; network roof: FLOP / byte over links)"
set ylabel "TFLOP/s"
set format x "%g"
set format y "%g"
set key outside right top vertical Left reverse samplen 3 spacing 1.1 box
set label 1 "FP8 1979 TFLOP/s (datasheet)" at 827.045,2572.7 left front font ",9" tc rgb "#000000"
set label 2 "BF16 989 TFLOP/s (datasheet)" at 413.313,1285.7 left front font ",9" tc rgb "#000000"
plot \
  keyentry with lines lc rgb "white" title "ceilings (colour = GPU; dashed = datasheet, solid = measured):", \
  "roofline_ceilings.dat" index 0 with lines lw 3.5 dt 2 lc rgb "#000000" title "h100-sxm, h800-sxm HBM 3350 GB/s (datasheet)", \
  "roofline_ceilings.dat" index 1 with lines lw 3.5 dt 2 lc rgb "#000000" title "h100-sxm, h800-sxm FP8 1979 TFLOP/s (datasheet)", \
  "roofline_ceilings.dat" index 2 with lines lw 3.5 dt 2 lc rgb "#000000" title "h100-sxm, h800-sxm BF16 989 TFLOP/s (datasheet)", \
  "roofline_ceilings.dat" index 3 with lines lw 1.5 dt 4 lc rgb "#000000" title "h100-sxm network roof, link 450 GB/s/dir (datasheet)", \
  "roofline_ceilings.dat" index 4 with lines lw 1.8 dt 2 lc rgb "#b22222" notitle, \
  "roofline_ceilings.dat" index 5 with lines lw 1.8 dt 2 lc rgb "#b22222" notitle, \
  "roofline_ceilings.dat" index 6 with lines lw 1.8 dt 2 lc rgb "#b22222" notitle, \
  "roofline_ceilings.dat" index 7 with lines lw 0.8 dt 4 lc rgb "#b22222" title "h800-sxm network roof, link 200 GB/s/dir (datasheet)", \
  "roofline_points.dat" index 0 using 1:2 with points pt 6 ps 1.6 lw 1.5 lc rgb "#1f77b4" notitle, \
  "roofline_points.dat" index 1 using 1:2 with points pt 6 ps 1.6 lw 1.5 lc rgb "#1f77b4" notitle, \
  "roofline_points.dat" index 2 using 1:2 with points pt 6 ps 1.6 lw 1.5 lc rgb "#17becf" notitle, \
  "roofline_points.dat" index 3 using 1:2 with points pt 6 ps 1.6 lw 1.5 lc rgb "#17becf" notitle, \
  "roofline_points.dat" index 4 using 1:2 with points pt 6 ps 1.6 lw 1.5 lc rgb "#ff7f0e" notitle, \
  "roofline_points.dat" index 5 using 1:2 with points pt 6 ps 1.6 lw 1.5 lc rgb "#ff7f0e" notitle, \
  "roofline_points.dat" index 6 using 1:2 with points pt 6 ps 1.6 lw 1.5 lc rgb "#8c564b" notitle, \
  "roofline_points.dat" index 7 using 1:2 with points pt 6 ps 1.6 lw 1.5 lc rgb "#8c564b" notitle, \
  keyentry with points pt -1 lc rgb "white" title "operators:", \
  keyentry with points pt 7 ps 1.5 lc rgb "#1f77b4" title "fp8_gemm", \
  keyentry with points pt 7 ps 1.5 lc rgb "#17becf" title "fp8_gemm_grouped", \
  keyentry with points pt 7 ps 1.5 lc rgb "#ff7f0e" title "mla_decode", \
  keyentry with points pt 7 ps 1.5 lc rgb "#8c564b" title "moe_route", \
  keyentry with points pt -1 lc rgb "white" title "implementations:", \
  keyentry with points pt 7 ps 1.5 lc rgb "#333333" title "roofline", \
  keyentry with points pt 7 ps 1.5 lc rgb "#333333" title "filled = measured", \
  keyentry with points pt 6 ps 1.5 lc rgb "#333333" title "hollow = projected"
