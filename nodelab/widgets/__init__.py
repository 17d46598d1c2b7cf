"""Live ipywidgets + graphviz views of each step of the node."""
