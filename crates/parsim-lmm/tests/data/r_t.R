# Reference values for src/student_t.rs: R's qt and pt on a grid of degrees of freedom
# (including the non-integer, small and huge df that Satterthwaite's approximation produces).
# Run from this directory: Rscript r_t.R
dfs <- c(0.3, 0.7, 1, 1.5, 2, 2.5, 3, 3.7, 4, 4.02, 5.5, 7, 10, 17.3, 30, 55.5, 100, 250,
         1000, 3999, 4000, 4990.3, 1e5, 1e7,
         # around the switch to the BGRAT expansion (a = df/2 > 15) and the Satterthwaite df of a
         # 500-row study
         29.9, 30.1, 31, 50, 494, 4994)
levels <- c(0.95, 0.99, 0.8, 0.5)
ts <- c(0.1, 1.3, 2.5, 7.9, 40)
row <- function(a, b, v) sprintf("    (%.17e, %.17e, %.17e),", a, b, v)
qt_rows <- unlist(lapply(dfs, function(d) sapply(levels, function(l) row(d, l, qt(0.5 + l / 2, d)))))
pt_grid <- expand.grid(t = ts, df = dfs)
pt_grid$p <- 2 * pt(pt_grid$t, pt_grid$df, lower.tail = FALSE)
pt_grid <- pt_grid[pt_grid$p > 1e-300, ]  # the normal-like tails at t = 40 underflow
# Either side of the expansion's other switch, y = t^2/(df + t^2) = 0.29, and deep inside it.
edge <- expand.grid(y = c(0.2899, 0.2901, 0.1, 1e-2, 1e-4, 1e-9), df = c(30.5, 40, 494, 4994, 1e5, 1e7))
edge$t <- sqrt(edge$df * edge$y / (1 - edge$y))
edge$p <- 2 * pt(edge$t, edge$df, lower.tail = FALSE)
pt_grid <- rbind(pt_grid, edge[edge$p > 1e-300, c("t", "df", "p")])
pt_rows <- row(pt_grid$df, pt_grid$t, pt_grid$p)
header <- sprintf("// %s; made by r_t.R", R.version.string)
writeLines(c(header, "[", qt_rows, "]"), "r_qt.in")
writeLines(c(header, "[", pt_rows, "]"), "r_pt.in")
