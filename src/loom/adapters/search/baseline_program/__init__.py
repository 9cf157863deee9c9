"""The program every baseline candidate runs, kept as real modules so tests can import them.

Loom itself never imports these (they need numpy, pandas and scikit-learn): the baseline brain's
`render()` concatenates their text, in `PARTS` order, behind a `CANDIDATE = {...}` header into
one self-contained script, the same kind of script an LLM brain writes. Lines importing a sibling
part are dropped from the script (there, every part is already in the one namespace).
"""

PARTS = ("data", "features", "models", "scoring", "ensemble", "program")
