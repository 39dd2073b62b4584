# A method in R: least squares with lm(), and a draw from R's own generator, which the worker seeds with
# set.seed(seed) before each call.
analyse <- function(data, condition, seed) {
  cat("fitting with seed", seed, "\n")
  fit <- lm(y ~ x, data = data)
  s <- summary(fit)$coefficients
  data.frame(
    term = c(rownames(s), "draw", "seed"),
    estimate = c(s[, 1], rnorm(1), seed),
    se = c(s[, 2], NA, NA),
    df = c(rep(fit$df.residual, nrow(s)), NA, NA)
  )
}
