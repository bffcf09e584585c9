"""The command line: ``python -m pyclrbridge`` (``main``), type and name lookups (``describe``,
``names``) and stub generation (``stubs``)."""
