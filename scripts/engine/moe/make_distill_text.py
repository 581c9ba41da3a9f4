#!/usr/bin/env python3
"""Self-distillation text for `airlock model moefy`: the dense model writes its own
calibration data (no licence question: SmolLM2 samples), from short varied openings
(plain-text continuations and chat answers), temperature 0.8, fixed seeds.
The held-out text is never used as a prompt.

python3 make_distill_text.py --model models/SmolLM2-135M-Instruct.Q4_1.gguf \
    --out scripts/engine/moe/text/distill.txt [--tokens 40000]
Needs llama-cpp-python. Output: samples separated by blank lines (prompt included for the
plain-text ones, so the conversion sees the openings too).
"""
import argparse
import random
import sys

from llama_cpp import Llama

SUBJECTS = [
    "a small fishing village", "the water cycle", "a train journey through the mountains", "how bread is made",
    "the history of the bicycle", "a cat that lived in a library", "volcanoes", "the moon landing",
    "how a computer stores numbers", "a market on a rainy day", "the life of honeybees", "learning to swim",
    "the Roman empire", "a lost umbrella", "how vaccines work", "a winter night in the forest",
    "the invention of the telephone", "a robot that wanted to paint", "ocean tides", "planting a tree",
    "the rules of chess", "a birthday party", "how airplanes fly", "the desert at night", "electricity at home",
    "a friendship between two old men", "recycling plastic", "the human heart", "a thunderstorm",
    "how to make tea", "the first day at a new job", "penguins", "the printing of newspapers", "a city park",
    "how maps are made", "the seasons", "a lighthouse", "saving money", "the Great Wall of China",
    "a detective solving a small mystery", "how the internet sends messages", "dinosaurs", "a mountain village",
    "a kitchen garden", "the solar system", "writing a letter", "a football match", "the invention of paper",
    "how rain forms", "an old clock", "a journey by ship", "the immune system", "a school trip to a museum",
    "how glass is made", "the northern lights", "a family dinner", "earthquakes", "how a bill becomes a law",
    "a musician on the street", "how to keep a password safe", "the life of a tree", "a snowy morning",
]
OPENINGS = [
    "The", "In the morning,", "Once upon a time,", "It was late when", "Many people believe that",
    "Scientists have found that", "Question: What is", "The first thing to know about", "Every year,",
    "When I was young,", "There are three reasons why", "A good way to", "History shows that",
    "She opened the door and", "In a small town", "To understand", "The most important part of",
    "Step 1:", "Dear friend,", "Long ago,", "Today we will learn about", "The report says that",
]
TASKS = [
    "Write a short story about {s}.", "Explain {s} in simple words.", "Describe {s}.",
    "Write a paragraph about {s}.", "Tell me three facts about {s}.", "Write a short essay on {s}.",
    "What should a child know about {s}?", "Give a short history of {s}.",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokens", type=int, default=40000)
    ap.add_argument("--max-tokens", type=int, default=200)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--threads", type=int, default=1)  # 2 threads spin badly on a loaded machine
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    llm = Llama(model_path=a.model, n_ctx=512, n_threads=a.threads, verbose=False, seed=a.seed)
    total, n = 0, 0
    with open(a.out, "w") as f:
        while total < a.tokens:
            subject = rnd.choice(SUBJECTS)
            if n % 2 == 0:
                prompt = f"{rnd.choice(OPENINGS)}"
                if rnd.random() < 0.5:
                    prompt = f"{subject[0].upper()}{subject[1:]}."
                    prompt = f"{prompt} {rnd.choice(OPENINGS)}"
                r = llm.create_completion(prompt, max_tokens=a.max_tokens, temperature=0.8, top_p=0.95,
                                          seed=a.seed * 100003 + n)
                text = prompt + r["choices"][0]["text"]
                used = r["usage"]["total_tokens"]
            else:
                task = rnd.choice(TASKS).format(s=subject)
                r = llm.create_chat_completion([{"role": "user", "content": task}], max_tokens=a.max_tokens,
                                               temperature=0.8, top_p=0.95, seed=a.seed * 100003 + n)
                text = task + "\n" + r["choices"][0]["message"]["content"]
                used = r["usage"]["completion_tokens"]
            text = text.strip()
            if text:
                f.write(text + "\n\n")
                f.flush()
            total += used
            n += 1
            if n % 20 == 0:
                print(f"{n} samples, {total} tokens", file=sys.stderr, flush=True)
    print(f"{n} samples, {total} tokens -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
