"""The paper: figures and generated LaTeX drawn from a saved results folder (``paper.plots``)."""
