"""tally: the counting core (group, ElGamal, proofs, ballots, rule sets, record, bundle, verifier).

Pure Python with no Flask and no database, so an auditor can install and run it alone.
"""

__version__ = "0.1.0"
