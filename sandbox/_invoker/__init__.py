"""Parts of the invoker: per-function import namespaces, the Lambda context, handler loops."""
