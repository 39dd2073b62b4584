# Data sets of bench/crossed.sh besides the power study's (written by `parsim data`):
# insteval.csv: lme4's InstEval (73,421 ratings; s, d, dept as integer codes);
# nested.csv: 40 schools x 5 classes x 20 pupils, y = 1 + 0.5 x + school + class + noise with SDs
# 1, 0.5 and 2 (a made-up but typical two-level nesting), from set.seed(18).
# Usage: Rscript bench/crossed/data.R OUT_DIR
suppressPackageStartupMessages(library(lme4))
out <- commandArgs(trailingOnly = TRUE)[1]
d <- InstEval
write.csv(data.frame(s = as.integer(d$s), d = as.integer(d$d), dept = as.integer(d$dept),
                     service = as.integer(d$service == "1"), y = d$y),
          file.path(out, "insteval.csv"), row.names = FALSE, quote = FALSE)
set.seed(18)
schools <- 40; classes <- 5; pupils <- 20
school <- rep(seq_len(schools), each = classes * pupils)
class <- rep(seq_len(classes), each = pupils, times = schools)
x <- rnorm(length(school))
y <- 1 + 0.5 * x + rnorm(schools, sd = 1)[school] +
  rnorm(schools * classes, sd = 0.5)[(school - 1) * classes + class] + rnorm(length(school), sd = 2)
write.csv(data.frame(school = school, class = class, x = x, y = y),
          file.path(out, "nested.csv"), row.names = FALSE, quote = FALSE)
