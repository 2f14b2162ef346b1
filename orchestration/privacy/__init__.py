"""Pseudonymisation: the keyed hash that replaces personal identifiers past staging."""
