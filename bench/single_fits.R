#!/usr/bin/env Rscript
# lme4 single-fit timings for the side-by-side table (bench/run.sh), and the InstEval export.
#
# Usage: Rscript single_fits.R DATA_DIR OUT_DIR [small|insteval|export] [INSTEVAL_RUNS]
#   small     seed0 (1 | group) and (1 + X | group), sleepstudy (Days | Subject), Penicillin crossed, read from
#             DATA_DIR (tests/data/lme4/data). Each case: a calibrated batch of fits (about 0.5 s), repeated 5
#             times; one JSON line per case with the median, min and max of the batches' µs per fit.
#   export    write lme4's InstEval (y, s, d, dept, service) to OUT_DIR/insteval.csv (not committed).
#   insteval  time y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept) on OUT_DIR/insteval.csv, end to end
#             (read.csv, factors, lmer) like `parsim fit`, INSTEVAL_RUNS times (default 3); also the lmer call alone.
suppressPackageStartupMessages(library(lme4))

args <- commandArgs(trailingOnly = TRUE)
data_dir <- args[[1]]
out_dir <- args[[2]]
what <- if (length(args) >= 3) args[[3]] else "small"
insteval_runs <- if (length(args) >= 4) as.integer(args[[4]]) else 3L

emit <- function(case, unit, values, extra = "") {
  cat(sprintf('{"case": "%s", "unit": "%s", "median": %.6g, "min": %.6g, "max": %.6g, "runs": %d%s}\n',
              case, unit, median(values), min(values), max(values), length(values), extra))
}

read_factors <- function(path, factors) {
  df <- read.csv(path)
  for (f in factors) df[[f]] <- factor(df[[f]])
  df
}

small <- function() {
  seed0 <- read_factors(file.path(data_dir, "seed0.csv"), "group")
  sleep <- read_factors(file.path(data_dir, "sleepstudy.csv"), "Subject")
  pen <- read_factors(file.path(data_dir, "penicillin.csv"), c("plate", "sample"))
  cases <- list(
    list("seed0_ri", response ~ X + (1 | group), seed0),
    list("seed0_rs", response ~ X + (1 + X | group), seed0),
    list("sleepstudy", Reaction ~ Days + (Days | Subject), sleep),
    list("penicillin", diameter ~ 1 + (1 | plate) + (1 | sample), pen)
  )
  for (case in cases) {
    fit_once <- function() suppressMessages(lmer(case[[2]], data = case[[3]]))
    invisible(fit_once()) # warm-up: lazy loading and byte compilation
    one <- system.time(fit_once())[["elapsed"]]
    k <- max(3L, min(200L, as.integer(ceiling(0.5 / max(one, 1e-3)))))
    batches <- vapply(1:5, function(i) {
      system.time(for (j in seq_len(k)) fit_once())[["elapsed"]] / k * 1e6
    }, numeric(1))
    emit(case[[1]], "us", batches, sprintf(', "fits_per_batch": %d', k))
  }
}

export_insteval <- function() {
  data(InstEval, package = "lme4", envir = environment())
  out <- InstEval[, c("y", "s", "d", "dept", "service")]
  # service is a two-level factor ("0", "1"): written as 0/1, a numeric column gives the same model.
  out$service <- as.integer(as.character(out$service))
  dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
  write.csv(out, file.path(out_dir, "insteval.csv"), row.names = FALSE, quote = FALSE)
  cat(sprintf('{"exported": "%s", "rows": %d}\n', file.path(out_dir, "insteval.csv"), nrow(out)))
}

insteval <- function() {
  path <- file.path(out_dir, "insteval.csv")
  fit_only <- numeric(0)
  criterion <- NA_real_
  total <- vapply(seq_len(insteval_runs), function(i) {
    system.time({
      df <- read_factors(path, c("s", "d", "dept"))
      t <- system.time(fit <- lmer(y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept), data = df))
      fit_only <<- c(fit_only, t[["elapsed"]])
      criterion <<- REMLcrit(fit)
    })[["elapsed"]]
  }, numeric(1))
  emit("insteval", "s", total, sprintf(', "reml_criterion": %.10g', criterion))
  emit("insteval_fit_only", "s", fit_only)
}

switch(what, small = small(), export = export_insteval(), insteval = insteval(),
       stop("unknown task ", what))
