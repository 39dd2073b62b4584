#!/usr/bin/env Rscript
# The seed's study in R: the blog's gen_data (same sizes, same parameters, same order of draws, with R's
# generator seeded by set.seed(idx) instead of numpy's default_rng(idx)), each data set fitted with
# lmer(response ~ X + (1 | group)) (REML, lme4's defaults), serially with lapply or with
# parallel::mclapply on all cores.
#
# Usage: Rscript seed_lme4.R serial|mclapply [replications] [N]
# Prints one JSON line: {"mode", "seconds", "replications", "mean_bias", "jobs"}; the time covers the study
# (generation and fits), not R's start-up or loading lme4.
suppressPackageStartupMessages(library(lme4))
library(parallel)

args <- commandArgs(trailingOnly = TRUE)
mode <- if (length(args) >= 1) args[[1]] else "serial"
n_iter <- if (length(args) >= 2) as.integer(args[[2]]) else 500L
N <- if (length(args) >= 3) as.integer(args[[3]]) else 5000L
if (!mode %in% c("serial", "mclapply")) stop("mode must be serial or mclapply, not ", mode)

params <- list(n_groups = 5L, beta0 = 10, beta1 = -0.5, intercept_sd = 1, slope_sd = 0.25, noise_sd = 1)

gen_data <- function(N, params, seed) {
  set.seed(seed)
  X <- rnorm(N, 0, 1)
  rand_group <- sample.int(params$n_groups, N, replace = TRUE)
  random_intercept <- rnorm(params$n_groups, 0, params$intercept_sd)
  random_slope <- rnorm(params$n_groups, 0, params$slope_sd)
  noise <- rnorm(N, 0, params$noise_sd)
  response <- params$beta0 + random_intercept[rand_group] +
    (params$beta1 + random_slope[rand_group]) * X + noise
  data.frame(response = response, X = X, group = factor(rand_group),
             random_intercept = random_intercept[rand_group],
             random_slope = random_slope[rand_group])
}

one_replication <- function(idx) {
  df <- gen_data(N, params, idx)
  fit <- lmer(response ~ X + (1 | group), data = df)
  params$beta1 - unname(fixef(fit)[["X"]])
}

cores <- if (mode == "serial") 1L else detectCores()
# Warm-up outside the timing: the first lmer call loads and byte-compiles lazily loaded code.
invisible(one_replication(0L))
start <- proc.time()[["elapsed"]]
bias <- if (mode == "serial") {
  lapply(seq_len(n_iter) - 1L, one_replication)
} else {
  mclapply(seq_len(n_iter) - 1L, one_replication, mc.cores = cores)
}
seconds <- proc.time()[["elapsed"]] - start
bias <- unlist(bias)
cat(sprintf('{"mode": "%s", "seconds": %.6f, "replications": %d, "mean_bias": %.10g, "jobs": %d}\n',
            mode, seconds, n_iter, mean(bias), cores))
