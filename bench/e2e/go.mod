module numflow.bench/e2e

go 1.21
