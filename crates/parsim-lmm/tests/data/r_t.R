# Reference values for src/student_t.rs: R's qt and pt on a grid of degrees of freedom
# (including the non-integer, small and huge df that Satterthwaite's approximation produces).
# Run from this directory: Rscript r_t.R
dfs <- c(0.3, 0.7, 1, 1.5, 2, 2.5, 3, 3.7, 4, 4.02, 5.5, 7, 10, 17.3, 30, 55.5, 100, 250,
         1000, 3999, 4000, 4990.3, 1e5, 1e7)
levels <- c(0.95, 0.99, 0.8, 0.5)
ts <- c(0.1, 1.3, 2.5, 7.9, 40)
row <- function(a, b, v) sprintf("    (%.17e, %.17e, %.17e),", a, b, v)
qt_rows <- unlist(lapply(dfs, function(d) sapply(levels, function(l) row(d, l, qt(0.5 + l / 2, d)))))
pt_grid <- expand.grid(t = ts, df = dfs)
pt_grid$p <- 2 * pt(pt_grid$t, pt_grid$df, lower.tail = FALSE)
pt_grid <- pt_grid[pt_grid$p > 1e-300, ]  # the normal-like tails at t = 40 underflow
pt_rows <- row(pt_grid$df, pt_grid$t, pt_grid$p)
header <- sprintf("// %s; made by r_t.R", R.version.string)
writeLines(c(header, "[", qt_rows, "]"), "r_qt.in")
writeLines(c(header, "[", pt_rows, "]"), "r_pt.in")
