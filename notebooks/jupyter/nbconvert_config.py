# Configuration of `jupyter nbconvert --execute` for `npm run notebooks`
# (.ci/notebooks passes it with --config). tslab reports a failing cell on the
# cell's stderr, not in the execute reply, and sends no execute_input, so
# nbconvert alone would print an empty error and record no execution counts:
# the two hooks below fill both in.
import sys

c = get_config()  # noqa: F821 (defined by traitlets when it loads this file)


def _record_count(cell, cell_index, execute_reply):
    count = (execute_reply or {}).get("content", {}).get("execution_count")
    if count:
        cell["execution_count"] = count


def _print_error(cell, cell_index, execute_reply):
    lines = [f"\n--- cell {cell_index} failed ---", "".join(cell.get("source", "")), "--- its output ---"]
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            lines.append("".join(out.get("text", "")).rstrip())
        elif out.get("output_type") == "error":
            lines.append("\n".join(out.get("traceback", [])) or f"{out.get('ename')}: {out.get('evalue')}")
    print("\n".join(lines), file=sys.stderr, flush=True)


c.ExecutePreprocessor.on_cell_executed = _record_count
c.ExecutePreprocessor.on_cell_error = _print_error
# No per-cell timestamps: re-running a notebook changes only what its cells print.
c.ExecutePreprocessor.record_timing = False
