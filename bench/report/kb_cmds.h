/* kb_cmds.h - the CSV-reading subcommands of kbench (they never run kernels).
 * main() dispatches `kbench plot|compare|report ...` to these with argv[0]
 * set to the subcommand name.  Exit codes: 0 ok, 1 regression or failure
 * (compare), 2 bad input or usage (one line on stderr naming the problem),
 * 4 I/O error (unreadable file, cannot write output, gnuplot missing). */
#ifndef KB_CMDS_H
#define KB_CMDS_H
#ifdef __cplusplus
extern "C" {
#endif

/* kbench plot RESULTS.csv... [--out plots/] [--format png,svg,txt] */
int kb_cmd_plot(int argc, char **argv);
/* kbench compare BASE.csv NEW.csv [--threshold 5%] [--alpha 0.01]
 *   [--json NEW.json BASE.json] [--allow-gpu-mismatch] [--update-baseline]
 *   [--baseline-dir results/baselines] */
int kb_cmd_compare(int argc, char **argv);
/* kbench report RESULTS.csv... [--price GPU=USD_PER_HOUR,...]
 *   [--out results/report.md] [--no-plots] [--ep-prefill 32] [--ep-decode 64] */
int kb_cmd_report(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
