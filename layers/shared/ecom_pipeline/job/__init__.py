"""The transactions job: pure DataFrame transforms, I/O, accounting and the entry point.

`glue/process_transactions.py` is the script Glue runs; it only hands its arguments to `entry.main`.
"""
