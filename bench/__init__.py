"""Load benchmark for the ``/invoices`` HTTP app: run by hand, see ``bench/README.md``."""
