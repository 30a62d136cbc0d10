"""Speed benchmarks: roofline, embedding backends, FAISS index types, end-to-end ``ask`` and
start-up times, all measured in one run (``python -m bench``)."""
