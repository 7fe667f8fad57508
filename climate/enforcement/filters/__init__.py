"""The usage enforcement filters Climate ships."""
