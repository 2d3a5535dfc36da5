"""The front ends: each parses its options, calls the library, and prints or writes the result."""
