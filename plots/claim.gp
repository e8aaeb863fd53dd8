# claim.gp - DeepSeek-V3 GPU-hours per 1e12 training tokens (kbench claim)
# Written by `kbench plot`; re-render by hand with
#   gnuplot -e 'fmt="png"' claim.gp     (or svg, txt)
if (!exists("fmt")) fmt = "png"
if (fmt eq "png") { set terminal pngcairo size 1200,700 font "Sans,11" noenhanced; set output "claim.png" }
if (fmt eq "svg") { set terminal svg size 1200,700 font "Sans,11" noenhanced background "white"; set output "claim.svg" }
if (fmt eq "txt") { set terminal dumb size 130,42 noenhanced; set output }
set datafile missing "NaN"
set grid lc rgb "#dddddd"
set title "DeepSeek-V3: GPU-hours per 1e12 training tokens per scenario and GPU (model, projected)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
set ylabel "GPU-hours per 1e12 tokens"
set key outside right top
plot "claim.dat" using 2:xtic(1) title "h800-sxm" lc rgb "#b22222", \
     "claim.dat" using 3 title "h100-sxm" lc rgb "#1e5aa8", \
     "claim.dat" using 4 title "h200-sxm" lc rgb "#2e8b57", \
     "claim.dat" using ($0+(0-3/2.0+0.5)/(3+1)):2:(sprintf("%.0f", $2)) with labels offset 0,0.7 font ",9" notitle, \
     "claim.dat" using ($0+(1-3/2.0+0.5)/(3+1)):3:(sprintf("%.0f", $3)) with labels offset 0,0.7 font ",9" notitle, \
     "claim.dat" using ($0+(2-3/2.0+0.5)/(3+1)):4:(sprintf("%.0f", $4)) with labels offset 0,0.7 font ",9" notitle
