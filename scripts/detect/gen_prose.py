#!/usr/bin/env python3
"""Multilingual prose for the throughput benchmark: Faker's lorem text in English, Korean,
Chinese and Japanese, with an entity (email, phone, card, key...) every ~1 KB, as in
typical chat prompts.

    pip install faker
    python3 scripts/detect/gen_prose.py > Corpus/detect/prose.txt
"""
import random, sys
from faker import Faker

R = random.Random(7)
locs = ["en_US", "ko_KR", "zh_CN", "ja_JP"]
fk = {l: Faker(l) for l in locs}
for i, l in enumerate(locs): fk[l].seed_instance(50 + i)
entities = ["jane.doe@example.com", "010-2345-6789", "4111 1111 1111 1111", "AKIAIOSFODNN7EXAMPLE", "192.168.10.24",
            "https://admin:hunter22@db.example.com/prod", "900101-1234568", "+1 (415) 555-2671", "11010519491231002X"]
out, size, since = [], 0, 0
while size < 400_000:
    loc = R.choice(locs)
    p = fk[loc].paragraph(nb_sentences=R.randint(3, 8))
    if since > 1000:
        p += (" " if loc in ("en_US", "ko_KR") else "") + R.choice(entities) + ("." if loc == "en_US" else "。" if loc != "ko_KR" else ".")
        since = 0
    out.append(p)
    n = len(p.encode())
    size += n; since += n
sys.stdout.write("\n".join(out) + "\n")
