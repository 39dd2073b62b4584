# Seconds per lmer fit (median of repeats after a warm-up) on the cases of bench/crossed.sh.
# Usage: Rscript lme4_time.R DATA_DIR PENICILLIN_CSV
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
cases <- list(
  crossed = list(file.path(args[1], "rep0.csv"), rt ~ cond + (1 + cond | subj) + (1 | item), c("subj", "item")),
  penicillin = list(args[2], diameter ~ 1 + (1 | plate) + (1 | sample), c("plate", "sample")),
  nested = list(file.path(args[1], "nested.csv"), y ~ x + (1 | school/class), c("school", "class")),
  insteval = list(file.path(args[1], "insteval.csv"), y ~ 1 + (1 | s) + (1 | d) + (1 | dept), c("s", "d", "dept")))
for (name in names(cases)) {
  k <- cases[[name]]
  d <- read.csv(k[[1]])
  for (g in k[[3]]) d[[g]] <- factor(d[[g]])
  repeats <- if (name == "insteval") 1 else 7
  fit <- function() suppressMessages(lmer(k[[2]], data = d, REML = TRUE))
  invisible(fit())
  times <- replicate(repeats, system.time(fit())[["elapsed"]])
  cat(sprintf("lme4 %s %.6f -\n", name, median(times)))
}
