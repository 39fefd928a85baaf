"""Batch jobs (OpenAI's Files and Batch API) on the job queue: files outside Redis, one batch record in
Redis, and the runner that validates a batch's input, feeds its lines to the queue in windows and writes
its output and error files. Framework-free: the API builds it and gives it the line executor."""
