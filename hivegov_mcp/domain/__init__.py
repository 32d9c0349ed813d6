"""Pure rules of governance: no I/O, no clock, no database."""
