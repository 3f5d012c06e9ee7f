"""Example agents the README registers; copy one to start your own."""
