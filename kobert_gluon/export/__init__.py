"""Export: a weight as a Hugging Face transformers folder (hf, hf_tokenizer) and as the ONNX Runtime
engine's export folder (onnx_export). torch_worker.py is not imported here: it runs under the export
environment's Python (>= 3.10, torch; .venv-hf), started by hf.py for the steps that need torch."""
