"""MMLU-Pro letter extraction: ours vs the upstream MMLU-Pro regex on 12,032 real outputs.

Data: Llama-3.1-8B-Instruct 5-shot chain-of-thought outputs from TIGER-AI-Lab/MMLU-Pro
(../shared/data/mmlupro_outputs_Llama-3.1-8B-Instruct_5shot.zip: question, options, gold
letter ``answer``, ``generated_text``). There are no labels for "which letter did the model
mean", so accuracy is extracted letter == gold letter, the benchmark's own score. The upstream
extractor (evaluate_from_local.py) is: r"answer is \\(?([A-J])\\)?", then r".*[aA]nswer:\\s*([A-J])",
then the last capital A-J anywhere in the text, then a seeded random option. The last two are
guesses, not extraction, so upstream is reported at each step; ours never guesses, and for a
like-for-like comparison ours is also shown with upstream's own fallbacks appended.

Benchmark accuracy (letter == gold) scores the model, not the extractor: a lucky pick from a
hedge ("The answer is (B) and (D)") raises it. Extraction accuracy (did the grader read the
letter the response committed to?) is measured on bench/mmlu_pro_audit.json, a hand audit of
every row where the two extractors differ; on all other rows they read the same letter, so
the audit decides the difference exactly. A disagreement missing from the audit is reported.

    python bench/grading_mmlu_pro.py [--limit N] [--show N]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verifiers.grading.extract_choice import extract_choice  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ZIP_NAME = "mmlupro_outputs_Llama-3.1-8B-Instruct_5shot.zip"
AUDIT = Path(__file__).resolve().parent / "mmlu_pro_audit.json"

_LAST_ANSWER_RE = re.compile(r"answer is:?\s*\(?[A-J]\)?")
_HEDGE_TAIL_RE = re.compile(r"(?:\s*,\s*\(?[A-J]\)?)*\s*(?:,|\band\b|\bor\b)\s*\(?[A-J]\)?(?![A-Za-z])")


def _final_answer_is_hedge(text: str) -> bool:
    """Does the last "answer is (X)" go on to name more letters ("(B) and (D)", "(A, C)")?"""
    last = None
    for last in _LAST_ANSWER_RE.finditer(text):
        pass
    return bool(last and _HEDGE_TAIL_RE.match(text, last.end()))
_UP_FIRST = re.compile(r"answer is \(?([A-J])\)?")
_UP_AGAIN = re.compile(r"[aA]nswer:\s*([A-J])")


def upstream_regex(text: str) -> str | None:
    """Upstream's two regexes, without its guessing fallbacks.

    The second upstream pattern, r'.*[aA]nswer:\\s*([A-J])' without DOTALL, is quadratic on
    long lines (2 s on one 14k-character output). This is an equivalent linear form: the
    leftmost match starts at the first line holding an occurrence, and the greedy ``.*``
    takes the last occurrence that starts on that line.
    """
    m = _UP_FIRST.search(text)
    if m:
        return m.group(1)
    best, line_end = None, -1
    for m in _UP_AGAIN.finditer(text):
        if best is None:
            best = m
            nl = text.find("\n", m.start())
            line_end = len(text) if nl < 0 else nl
        elif m.start() < line_end:
            best = m
        else:
            break
    return best.group(1) if best else None


def last_capital(text: str) -> str | None:
    """Upstream's extract_final, r'[A-J](?=[^A-J]*$)': the last capital A-J anywhere."""
    for ch in reversed(text):
        if "A" <= ch <= "J":
            return ch
    return None


def random_fallback(n_options: int) -> str:
    random.seed(12345)  # upstream reseeds before every draw, so every miss draws the same index
    return "ABCDEFGHIJ"[random.randint(0, n_options - 1)]


def load(limit: int | None = None) -> list[dict]:
    path = DATA / ZIP_NAME
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing (the shared data folder beside the checkout)")
    with zipfile.ZipFile(path) as zf:
        rows = json.loads(zf.read(zf.namelist()[0]))
    return rows[:limit] if limit else rows


def mcnemar_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for b vs c discordant pairs."""
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def audit_extraction(rows: list[dict], ours: list, up: list, disagree: list[int]) -> dict:
    """Score both extractors against the hand audit of the rows where they differ."""
    audit = json.loads(AUDIT.read_text())["rows"]
    unaudited: list[int] = []
    ambiguous = 0
    kinds: dict[str, list[int]] = {}  # kind -> [rows, ours right, upstream right]
    for i in disagree:
        entry = audit.get(str(i))
        if entry is None or hashlib.sha1(rows[i]["generated_text"].encode()).hexdigest()[:12] != entry["sha1_12"]:
            unaudited.append(i)
            continue
        if entry["intended"] == "ambiguous":
            ours_hit, up_hit = False, True  # credited to upstream, never to us
            ambiguous += 1
        else:
            ours_hit, up_hit = ours[i] == entry["intended"], up[i] == entry["intended"]
        tally = kinds.setdefault(entry["kind"], [0, 0, 0])
        tally[0] += 1
        tally[1] += ours_hit
        tally[2] += up_hit
    audited = len(disagree) - len(unaudited)
    ours_right, up_right = (sum(t[k] for t in kinds.values()) for k in (1, 2))
    n = len(rows)
    out = {
        "extraction audit: disagreements audited / unaudited": f"{audited} / {len(unaudited)}"
        + (f" (audit rows {unaudited[:10]})" if unaudited else ""),
        "extraction audit: read the committed letter, ours / upstream regex":
            f"{ours_right} / {up_right} of {audited} ({ambiguous} ambiguous multi-part rows credited to upstream)",
        "extraction accuracy difference, ours - upstream regex (all rows)":
            f"{(ours_right - up_right) / n * 100:+.2f} points ({ours_right - up_right:+d} of {n} responses)",
    }
    for kind, (count, o, u) in sorted(kinds.items()):
        out[f"  {kind} (n, ours right, upstream right)"] = (count, o, u)
    return out


def _timed(fn, rows) -> tuple[list, float]:
    start = time.perf_counter()
    out = [fn(r) for r in rows]
    return out, time.perf_counter() - start


def run(limit: int | None = None, show: int = 0) -> dict:
    try:
        rows = load(limit)
    except FileNotFoundError as exc:
        return {"skipped": str(exc)}
    n = len(rows)
    gold = [r["answer"] for r in rows]
    ours, t_ours = _timed(lambda r: extract_choice(r["generated_text"], len(r["options"]), r["options"]), rows)
    up, t_up = _timed(lambda r: upstream_regex(r["generated_text"]), rows)
    up_last = [u or last_capital(r["generated_text"]) for u, r in zip(up, rows)]
    up_full = [u or random_fallback(len(r["options"])) for u, r in zip(up_last, rows)]
    ours_full = [o or u for o, u in zip(ours, up_full)]

    def acc(preds):
        return sum(p == g for p, g in zip(preds, gold)) / n

    def precision(preds):
        made = [(p, g) for p, g in zip(preds, gold) if p is not None]
        return sum(p == g for p, g in made) / max(1, len(made))

    # A response naming several letters ("The answer is (B) and (D)") has not chosen one; ours
    # gives None, upstream takes the first letter. Scoring such hedges as wrong for both graders
    # is the accuracy a reward or label should reflect.
    hedged = [_final_answer_is_hedge(r["generated_text"]) for r in rows]

    def acc_no_hedge(preds):
        return sum(p == g and not h for p, g, h in zip(preds, gold, hedged)) / n

    only_up = [i for i, (o, u) in enumerate(zip(ours, up)) if o is None and u is not None]
    only_ours = [i for i, (o, u) in enumerate(zip(ours, up)) if o is not None and u is None]
    differ = [i for i, (o, u) in enumerate(zip(ours, up)) if o is not None and u is not None and o != u]
    both = [(o, u) for o, u in zip(ours, up) if o is not None and u is not None]
    disagree = [i for i, (o, u) in enumerate(zip(ours, up)) if o != u]
    out = {
        "rows": n,
        "accuracy ours (no guessing)": round(acc(ours), 4),
        "accuracy upstream regex (no fallback)": round(acc(up), 4),
        "accuracy upstream + last-capital fallback": round(acc(up_last), 4),
        "accuracy upstream + last-capital + random (official)": round(acc(up_full), 4),
        "accuracy ours + upstream's fallbacks (like for like)": round(acc(ours_full), 4),
        "precision (acc. where a letter was extracted) ours / upstream regex": f"{precision(ours):.4f} / {precision(up):.4f}",
        "no-extraction rate ours / upstream regex": f"{ours.count(None) / n:.4f} / {up.count(None) / n:.4f}",
        "agreement where both extract": round(sum(o == u for o, u in both) / max(1, len(both)), 4),
        "accuracy with final multi-letter hedges scored wrong, ours / upstream regex":
            f"{acc_no_hedge(ours):.4f} / {acc_no_hedge(up):.4f} ({sum(hedged)} hedged responses)",
        "disagreements (ours != upstream regex)": len(disagree),
        "  only upstream extracts (n, upstream right)": (len(only_up), sum(up[i] == gold[i] for i in only_up)),
        "  only ours extracts (n, ours right)": (len(only_ours), sum(ours[i] == gold[i] for i in only_ours)),
        "  different letters (n, ours right, upstream right)":
            (len(differ), sum(ours[i] == gold[i] for i in differ), sum(up[i] == gold[i] for i in differ)),
        "benchmark accuracy, exact McNemar p (ours vs upstream regex)": round(mcnemar_p(
            sum(o == g != u for o, u, g in zip(ours, up, gold)), sum(u == g != o for o, u, g in zip(ours, up, gold))), 3),
        "throughput ours / upstream regex (responses/s)": f"{n / t_ours:,.0f} / {n / t_up:,.0f}",
    }
    if limit is None:
        out.update(audit_extraction(rows, ours, up, disagree))
    if show:
        for i in disagree[:show]:
            text = rows[i]["generated_text"]
            print(f"--- row {i}: ours={ours[i]} upstream={up[i]} gold={gold[i]}\n...{text[-300:]!r}")
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="only the first N outputs")
    ap.add_argument("--show", type=int, default=0, help="print the first N disagreements with upstream")
    args = ap.parse_args(argv)
    for key, value in run(args.limit, args.show).items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
