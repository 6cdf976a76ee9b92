"""Write ``datasets/toy_math.jsonl``: 20 very easy arithmetic problems for the embedded model.

SmolLM2-135M gets some of these right and some wrong, which is what an end-to-end run of the
pipeline needs (verifiers and selection have something to separate). Deterministic: the same
file every time, so it can be committed and regenerated.

    python generation/toy_problems.py [--output datasets/toy_math.jsonl]
"""
import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (question, answer): one-step sums, differences, products and halves of small numbers.
PROBLEMS = [
    ("What is 2 + 3?", 5), ("What is 4 + 4?", 8), ("What is 7 + 1?", 8), ("What is 10 + 5?", 15),
    ("What is 9 - 4?", 5), ("What is 6 - 6?", 0), ("What is 12 - 2?", 10), ("What is 3 * 3?", 9),
    ("What is 2 * 5?", 10), ("What is 10 * 10?", 100), ("What is 8 / 2?", 4), ("What is 1 + 1?", 2),
    ("Tom has 3 apples and buys 2 more. How many apples does he have?", 5),
    ("A box holds 6 eggs. How many eggs are in 2 boxes?", 12),
    ("Sara had 10 candies and ate 3. How many candies are left?", 7),
    ("What is half of 20?", 10), ("What is 5 + 5 + 5?", 15), ("What is 100 - 1?", 99),
    ("What is 11 + 11?", 22), ("What is 4 * 6?", 24),
]


def write(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for question, answer in PROBLEMS:
            fh.write(json.dumps({"problem": question, "answer": str(answer)}) + "\n")
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(ROOT / "datasets" / "toy_math.jsonl"))
    print(write(Path(parser.parse_args().output)))
