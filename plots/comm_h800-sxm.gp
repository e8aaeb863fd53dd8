# comm_h800-sxm.gp - communication: achieved link bandwidth vs message size
# Written by `kbench plot`; re-render by hand with
#   gnuplot -e 'fmt="png"' comm_h800-sxm.gp     (or svg, txt)
if (!exists("fmt")) fmt = "png"
if (fmt eq "png") { set terminal pngcairo size 1300,800 font "Sans,11" noenhanced; set output "comm_h800-sxm.png" }
if (fmt eq "svg") { set terminal svg size 1300,800 font "Sans,11" noenhanced background "white"; set output "comm_h800-sxm.svg" }
if (fmt eq "txt") { set terminal dumb size 130,42 noenhanced; set output }
set datafile missing "NaN"
set grid lc rgb "#dddddd"
set title "Communication on h800-sxm: bandwidth per direction over the link vs message size - projected, nothing measured"
set logscale x 2
set format x "%.0b%B"
set yrange [0:250]
set xlabel "message size (bytes per rank; EP ops: link bytes)"
set ylabel "GB/s per direction (link bytes / time = busbw)"
set key outside right top vertical Left reverse box
plot \
  200 with lines dt 2 lw 2 lc rgb "#444444" title "link nominal 200 GB/s/dir (datasheet)", \
  160 with lines dt 1 lw 2 lc rgb "#888888" title "link practical 160 GB/s/dir (datasheet)", \
  "comm_h800-sxm.dat" index 0 using 1:2 with linespoints pt 6 ps 1.4 lw 1.5 dt 3 lc rgb "#e377c2" title "ep_dispatch roofline-nominal-link projected", \
  "comm_h800-sxm.dat" index 1 using 1:2 with linespoints pt 6 ps 1.4 lw 1.5 dt 3 lc rgb "#e377c2" title "ep_dispatch roofline-practical-link projected", \
  "comm_h800-sxm.dat" index 2 using 1:2 with linespoints pt 6 ps 1.4 lw 1.5 dt 3 lc rgb "#bcbd22" title "ep_combine roofline-nominal-link projected", \
  "comm_h800-sxm.dat" index 3 using 1:2 with linespoints pt 6 ps 1.4 lw 1.5 dt 3 lc rgb "#bcbd22" title "ep_combine roofline-practical-link projected", \
  "comm_h800-sxm.dat" index 4 using 1:2 with linespoints pt 6 ps 1.4 lw 1.5 dt 3 lc rgb "#7f7f7f" title "alltoall roofline-nominal-link projected", \
  "comm_h800-sxm.dat" index 5 using 1:2 with linespoints pt 6 ps 1.4 lw 1.5 dt 3 lc rgb "#7f7f7f" title "alltoall roofline-practical-link projected"
