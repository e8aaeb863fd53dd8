// gbench_shim.cc - the only C++ in the harness: Google Benchmark has no C API
// (google/benchmark#592), so this file exposes the few calls kbench needs.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "bench/kb_gbench.h"
#include "bench/kb_io.h"

namespace {

std::string g_out_path;
std::vector<benchmark::BenchmarkReporter::Run> g_runs;

// Keeps every run for the single JSON file; prints nothing (kbench prints one
// line per row itself, and a console header per case would drown it).
class CollectingReporter : public benchmark::BenchmarkReporter {
  public:
    bool ReportContext(const Context &) override { return true; }
    void ReportRuns(const std::vector<Run> &reports) override
    {
        g_runs.insert(g_runs.end(), reports.begin(), reports.end());
    }
};

struct Case {
    kb_gb_sample_fn fn;
    void *user;
    double flops, bytes;
};
std::vector<Case *> g_cases;

void run_case(benchmark::State &st, Case *c)
{
    for (auto _ : st) {
        double sec = 0;
        kb_status s = c->fn(c->user, &sec);
        if (s != KB_OK) {
            st.SkipWithError(kb_last_message());
            break;
        }
        st.SetIterationTime(sec);
    }
    if (c->flops > 0)
        st.counters["TFLOP/s"] = benchmark::Counter(c->flops * 1e-12, benchmark::Counter::kIsIterationInvariantRate);
    if (c->bytes > 0)
        st.counters["GB/s"] = benchmark::Counter(c->bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

} // namespace

extern "C" int kb_gb_init(int *argc, char **argv)
{
    // Take --benchmark_out(_format) over: one JSON document per kbench run.
    int j = 1;
    for (int i = 1; i < *argc; i++) {
        if (!strncmp(argv[i], "--benchmark_out=", 16)) {
            g_out_path = argv[i] + 16;
            continue;
        }
        if (!strncmp(argv[i], "--benchmark_out_format=", 23)) {
            if (strcmp(argv[i] + 23, "json") != 0) {
                fprintf(stderr, "kbench: --benchmark_out_format: only json is supported\n");
                return -1;
            }
            continue;
        }
        argv[j++] = argv[i];
    }
    *argc = j;
    argv[j] = nullptr;
    benchmark::Initialize(argc, argv);
    for (int i = 1; i < *argc; i++) {
        if (!strncmp(argv[i], "--benchmark_", 12)) {
            fprintf(stderr, "kbench: unknown Google Benchmark flag: %s\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

extern "C" const char *kb_gb_out_path(void) { return g_out_path.empty() ? nullptr : g_out_path.c_str(); }

extern "C" void kb_gb_register(const char *name, int iterations, double flops, double bytes,
                               kb_gb_sample_fn fn, void *user)
{
    Case *c = new Case{fn, user, flops, bytes};
    g_cases.push_back(c);
    benchmark::RegisterBenchmark(name, run_case, c)
        ->UseManualTime()
        ->Iterations(iterations)
        ->Unit(benchmark::kMicrosecond);
}

extern "C" int kb_gb_run(void)
{
    CollectingReporter rep;
    size_t n = benchmark::RunSpecifiedBenchmarks(&rep);
    benchmark::ClearRegisteredBenchmarks();
    for (Case *c : g_cases) delete c;
    g_cases.clear();
    return (int)n;
}

static int put_text(FILE *f, void *text)
{
    const std::string *t = static_cast<const std::string *>(text);
    return std::fwrite(t->data(), 1, t->size(), f) == t->size() ? 0 : -1;
}

/* Rendered in memory, then written whole-or-nothing like every kbench output
 * (bench/kb_io.h). */
extern "C" int kb_gb_write_json(const char *path)
{
    std::ostringstream out;
    benchmark::JSONReporter json;
    json.SetOutputStream(&out);
    json.SetErrorStream(&out);
    json.ReportContext(benchmark::BenchmarkReporter::Context());
    if (!g_runs.empty()) json.ReportRuns(g_runs);
    json.Finalize();
    std::string text = out.str();
    char err[256];
    return kb_write_atomic(path, put_text, &text, err, sizeof err);
}
