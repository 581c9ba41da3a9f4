// Header-only module: see include/CAirlockPrefetch.h.
