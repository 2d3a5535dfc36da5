"""Evaluation reports, the experiment record and figures, from predictions and run directories."""
