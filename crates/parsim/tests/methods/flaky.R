# A method in R that misbehaves by the unit's integer seed: an error, a crash, a hang, a warning.
analyse <- function(data, condition, seed) {
  bucket <- seed %% 5
  if (bucket == 1) stop("bucket one")
  if (bucket == 2) quit(save = "no", status = 4)
  if (bucket == 3) Sys.sleep(60)
  if (bucket == 4) warning("the algorithm did not converge")
  c(mean = mean(data$y))
}
