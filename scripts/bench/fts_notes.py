"""The notes the full-text scripts index (`fts_catchup_profile.py`, `fts_merge_settings.py`): 8 to
24 words from a Zipf distribution over about 350 common words and 4,000 made-up names, the same
notes on every run (seeded)."""
import random

random.seed(1)
common = ("the a of to and in is for on with that this it as at by from be are was were have has had not but or an "
          "will can do we they you he she project meeting notes about swift memory agent store recall remember user "
          "prefers dark theme deadline friday review budget plan team coffee client release").split()
common += ["w%d" % i for i in range(300)]
names = ["".join(random.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(random.randint(4, 9))).capitalize()
         for _ in range(4000)]
vocabulary = common + names
weights = [1 / (rank + 1) for rank in range(len(vocabulary))]


def notes(count):
    """`count` notes, continuing the seeded sequence."""
    return [" ".join(random.choices(vocabulary, weights, k=random.randint(8, 24))) for _ in range(count)]
