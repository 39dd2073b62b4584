# The same analysis as lm.R by hand on CSV files written by `parsim data`. Reads lines
# "condition replication seed csv" on stdin; prints "condition replication term estimate se".
source(commandArgs(trailingOnly = TRUE)[1])
con <- file("stdin")
lines <- readLines(con)
close(con)
for (line in lines) {
  f <- strsplit(line, " ")[[1]]
  data <- read.csv(f[4])
  set.seed(as.integer(f[3]))
  rows <- analyse(data, list(), as.integer(f[3]))
  for (i in seq_len(nrow(rows))) {
    cat(f[1], f[2], rows$term[i], sprintf("%.17g", rows$estimate[i]), sprintf("%.17g", rows$se[i]), "\n")
  }
}
