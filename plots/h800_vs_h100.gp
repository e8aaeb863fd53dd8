# h800_vs_h100.gp - H800 vs H100 time per operator
# Written by `kbench plot`; re-render by hand with
#   gnuplot -e 'fmt="png"' h800_vs_h100.gp     (or svg, txt)
if (!exists("fmt")) fmt = "png"
if (fmt eq "png") { set terminal pngcairo size 1300,750 font "Sans,11" noenhanced; set output "h800_vs_h100.png" }
if (fmt eq "svg") { set terminal svg size 1300,750 font "Sans,11" noenhanced background "white"; set output "h800_vs_h100.svg" }
if (fmt eq "txt") { set terminal dumb size 130,42 noenhanced; set output }
set datafile missing "NaN"
set grid lc rgb "#dddddd"
set title "H800 SXM vs H100 SXM: time per operator relative to H100 (sum over shapes)\nH100 measured where available; H800 projected (measured H100 x roofline-floor ratio)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
set ylabel "time relative to H100 (1 = same)"
set xtics rotate by -25 left
set key outside right top
plot "h800_vs_h100.dat" using 2:xtic(1) title "H100 SXM" lc rgb "#1e5aa8", \
     "h800_vs_h100.dat" using 3 title "H800 SXM" lc rgb "#b22222", \
     "h800_vs_h100.dat" using ($0+0.17):($3):(sprintf("x%.2f", $6)) with labels offset 0,0.8 font ",10" notitle
