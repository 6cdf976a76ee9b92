"""Comparison worker: JSON lines in on stdin, JSON lines out on stdout (see bounded.py).

Started with an address-space limit so a runaway sympy computation fails with MemoryError
here instead of exhausting the machine. Exits when its stdin closes (parent gone).
"""
from __future__ import annotations

import json
import resource
import sys


def _limit_memory(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass  # some sandboxes forbid it; the parent's timeout still bounds us


def main() -> None:
    memory_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 2048
    sys.setrecursionlimit(5000)
    _limit_memory(memory_mb)
    from verifiers.grading.compare import compare_texts  # imports sympy once per worker

    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            req = json.loads(line)
            if req.get("op") == "sleep":  # used by tests to simulate a stuck comparison
                import time

                time.sleep(float(req["seconds"]))
                reply = {"verdict": None, "detail": "slept"}
            elif req.get("op") == "allocate":  # used by tests: hit the memory limit
                blob = bytearray(int(req["mb"]) * 1024 * 1024)
                reply = {"verdict": None, "detail": f"allocated {len(blob)}"}
            else:
                verdict, detail = compare_texts(req["gold"], req["pred"], req.get("gold_percent", False),
                                                req.get("pred_percent", False), req.get("degrees", False),
                                                int(req.get("places", 6)), tuple(req.get("parameters", ())))
                reply = {"verdict": verdict, "detail": detail}
        except MemoryError:
            reply = {"error": "memory limit reached"}
        except RecursionError:
            reply = {"error": "expression nested too deeply"}
        except Exception as exc:  # noqa: BLE001 - a comparison bug must not kill the worker
            reply = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
