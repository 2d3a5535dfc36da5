"""Classifying CSV files on Apache Spark with ONNX Runtime: the job (job), its inputs (inputs), the
executors' model (model, worker) and the Spark session (engine). kobert_news.cli.spark_predict runs it."""
