# Reference fits for parsim-lmm's formula language: I(), log(), exp(), sqrt(), abs(), scale(),
# poly() (orthogonal and raw), factor(), offset(), (a + b)^k, %in%, a/b, term removal, nested
# grouping factors, sum-to-zero contrasts and prior weights; lme4 (through lmerTest for the
# Satterthwaite df) and lm. Writes one JSON per case in the format of ../lme4 (see README.md)
# and the data sets it generates as CSV in data/.
# Run from this directory: Rscript make.R   (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, jsonlite)
suppressMessages({
  library(lmerTest)
  library(jsonlite)
})
dir.create("data", showWarnings = FALSE)

# nloptwrap's BOBYQA run to the limits of double precision, as ../lme4_tight/make.R: lme4's
# default tolerances stop up to ~1e-6 above the optimum.
tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 1e-12,
                                    ftol_rel = 1e-15, maxeval = 1e5))

# --- data sets -----------------------------------------------------------------------------------
# sleepstudy as ../lme4 has it (Subject numeric there; a factor for lme4).
sleep <- read.csv("../lme4/data/sleepstudy.csv")

# ChickWeight (datasets): Chick and Diet written as their labels (integers).
chick <- data.frame(weight = ChickWeight$weight, Time = ChickWeight$Time,
                    Chick = as.integer(as.character(ChickWeight$Chick)),
                    Diet = as.integer(as.character(ChickWeight$Diet)))
write.csv(chick, "data/chickweight.csv", row.names = FALSE)

# Pupils in classes in schools in districts: school and class labels repeat across their parents,
# so only the nesting operator makes them distinct. Prior weights w scale the residual variance.
set.seed(20261204)
nd <- 6; ns <- 3; nc <- 2; np <- 8
schools <- data.frame(
  district = rep(sprintf("d%d", 1:nd), each = ns * nc * np),
  school = rep(rep(sprintf("s%d", 1:ns), each = nc * np), nd),
  class = rep(rep(sprintf("c%d", 1:nc), each = np), nd * ns))
n <- nrow(schools)
schools$x <- round(rnorm(n), 4)
schools$z <- round(runif(n), 4)
schools$a <- sample(c("p", "q", "r"), n, replace = TRUE)
schools$b <- sample(c("u", "v"), n, replace = TRUE)
schools$w <- round(runif(n, 0.5, 2), 4)
d_id <- as.integer(factor(schools$district))
s_id <- as.integer(factor(paste(schools$district, schools$school)))
c_id <- as.integer(factor(paste(schools$district, schools$school, schools$class)))
u_d <- rnorm(nd, sd = 1); v_d <- rnorm(nd, sd = 0.3)
u_s <- rnorm(nd * ns, sd = 0.7); u_c <- rnorm(nd * ns * nc, sd = 0.5)
schools$y <- round(1 + 0.5 * schools$x + c(p = 0, q = 0.8, r = -0.4)[schools$a] +
  0.6 * (schools$b == "v") + 0.3 * schools$x * (schools$a == "q") + u_d[d_id] +
  v_d[d_id] * schools$x + u_s[s_id] + u_c[c_id] + schools$z +
  rnorm(n, sd = 1 / sqrt(schools$w)), 4)
schools$pos <- round(exp(0.2 * schools$y), 4)
write.csv(schools, "data/schools.csv", row.names = FALSE)

data_sets <- list(sleepstudy = list(file = "../lme4/data/sleepstudy.csv", frame = sleep),
                  chickweight = list(file = "data/chickweight.csv", frame = chick),
                  schools = list(file = "data/schools.csv", frame = schools))

# --- cases ---------------------------------------------------------------------------------------
# factors: numeric columns taken as categorical (parsim: DataFrame::set_factor); grouping columns
# are factors for lme4 as in ../lme4 (they are integers in the CSVs).
cases <- list(
  list(name = "sleep_i_square", data = "sleepstudy", REML = TRUE,
       formula = "Reaction ~ Days + I(Days^2) + (Days | Subject)"),
  list(name = "sleep_poly_ml", data = "sleepstudy", REML = FALSE,
       formula = "Reaction ~ poly(Days, 2) + (1 | Subject)"),
  list(name = "sleep_poly_raw", data = "sleepstudy", REML = TRUE,
       formula = "Reaction ~ poly(Days, 3, raw = TRUE) + (1 | Subject)"),
  list(name = "sleep_log_response", data = "sleepstudy", REML = TRUE,
       formula = "log(Reaction) ~ Days + (Days | Subject)"),
  list(name = "chick_factor_poly", data = "chickweight", REML = TRUE,
       formula = "weight ~ poly(Time, 2) + factor(Diet) + (1 | Chick)"),
  list(name = "chick_scale_log", data = "chickweight", REML = FALSE,
       formula = "log(weight) ~ scale(Time) * factor(Diet) + (scale(Time) | Chick)"),
  list(name = "chick_sum_contrasts", data = "chickweight", REML = TRUE,
       formula = "weight ~ Time * Diet + (1 | Chick)", factors = "Diet",
       contrasts = list(Diet = "sum")),
  list(name = "schools_nested", data = "schools", REML = TRUE,
       formula = "y ~ x + (1 | district/school/class)"),
  list(name = "schools_crossing_power", data = "schools", REML = TRUE,
       formula = "y ~ (a + b + x)^2 + (1 | district)"),
  list(name = "schools_removal", data = "schools", REML = FALSE,
       formula = "y ~ a*b*x - a:b:x - 1 + (1 | district)"),
  list(name = "schools_in_nest", data = "schools", REML = TRUE,
       formula = "y ~ x %in% a + b/z + (1 | district)"),
  list(name = "schools_offset", data = "schools", REML = TRUE,
       formula = "y ~ x + offset(z) + offset(0.5 * x) + (1 | district/school)"),
  list(name = "schools_functions", data = "schools", REML = TRUE,
       formula = "sqrt(pos) ~ exp(x/2) + sqrt(abs(x - z)) + I((x + 1)^3/10) + (1 | school:district)"),
  list(name = "schools_weights_reml", data = "schools", REML = TRUE, weights = "w",
       formula = "y ~ x + a + (1 | district)"),
  list(name = "schools_weights_ml", data = "schools", REML = FALSE, weights = "w",
       formula = "y ~ x + (x | district) + (1 | district:school)"),
  list(name = "schools_weights_sum", data = "schools", REML = TRUE, weights = "w",
       formula = "y ~ x * a + b + (1 | district/school)", contrasts = list(a = "sum", b = "sum")),
  list(name = "schools_sum_random", data = "schools", REML = TRUE,
       formula = "y ~ x + b + (b | district)", contrasts = list(b = "sum")),
  list(name = "lm_sleep_poly", data = "sleepstudy", model = "lm",
       formula = "log(Reaction) ~ poly(Days, 2) + I(Days^3)"),
  list(name = "lm_chick_factor", data = "chickweight", model = "lm",
       formula = "weight ~ factor(Diet)/Time"),
  list(name = "lm_chick_poly_by_factor", data = "chickweight", model = "lm",
       formula = "weight ~ poly(Time, 2) * factor(Diet)"),
  list(name = "lm_schools_weights", data = "schools", model = "lm", weights = "w",
       formula = "y ~ (a + b + x)^2 + offset(z) + scale(z)", contrasts = list(a = "sum")),
  list(name = "lm_schools_no_intercept", data = "schools", model = "lm", weights = "w",
       formula = "pos ~ 0 + a + x:b + log(z)")
)

r_contrasts <- function(cs) {
  if (is.null(cs)) return(NULL)
  lapply(cs, function(k) switch(k, sum = "contr.sum", treatment = "contr.treatment"))
}

coefficient_rows <- function(s, df) lapply(seq_len(nrow(s)), function(i) list(
  name = rownames(s)[i], estimate = s[i, "Estimate"], se = s[i, "Std. Error"],
  df = if (is.null(df)) s[i, "df"] else df, t = s[i, "t value"]))

versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                 lmerTest = as.character(packageVersion("lmerTest")))

for (case in cases) {
  set <- data_sets[[case$data]]
  d <- set$frame
  f <- as.formula(case$formula)
  environment(f) <- environment()
  for (v in case$factors) d[[v]] <- factor(d[[v]])
  wts <- if (is.null(case$weights)) NULL else d[[case$weights]]
  ctr <- r_contrasts(case$contrasts)
  common <- list(name = case$name, data = set$file, formula = case$formula,
                 weights = case$weights, contrasts = case$contrasts,
                 factors = as.list(case$factors))
  if (identical(case$model, "lm")) {
    m <- lm(f, d, weights = wts, contrasts = ctr)
    s <- summary(m)
    out <- c(list(model = "lm"), common, list(
      nobs = nobs(m),
      fixef = coefficient_rows(s$coefficients, m$df.residual),
      sigma = s$sigma, r_squared = s$r.squared, df_residual = m$df.residual,
      # R 4.2.2's summary.lm computes R² from fitted values that include the offset; parsim
      # reports R² of the model for y - offset: mss/(mss + rss) with mss from the fitted values
      # less the offset (weighted, centred when there is an intercept), computed here from lm's fit.
      r_squared_offset_removed = if (is.null(m$offset)) NULL else {
        w <- if (is.null(wts)) rep(1, nobs(m)) else wts
        fo <- fitted(m) - m$offset
        mss <- if (attr(terms(m), "intercept")) sum(w * (fo - sum(w * fo) / sum(w))^2) else sum(w * fo^2)
        mss / (mss + sum(w * residuals(m)^2))
      },
      logLik = as.numeric(logLik(m)),
      vcov_fixef = unname(lapply(seq_len(nrow(vcov(m))), function(i) unname(vcov(m)[i, ]))),
      versions = versions))
    cat(sprintf("%-26s lm: %d coefficients, sigma %.10f\n", case$name, nrow(s$coefficients), s$sigma))
  } else {
    for (v in unique(unlist(lapply(lme4::findbars(f), function(b) all.vars(b[[3]]))))) {
      d[[v]] <- factor(d[[v]])
    }
    m <- lmer(f, d, REML = case$REML, weights = wts, contrasts = ctr, control = tight)
    s <- summary(m, ddf = "Satterthwaite")$coefficients
    vc <- as.data.frame(VarCorr(m))
    out <- c(list(model = "lmer"), common, list(
      REML = case$REML,
      nobs = nobs(m),
      ngroups = as.list(ngrps(m)),
      fixef = coefficient_rows(s, NULL),
      theta = unname(getME(m, "theta")),
      sigma = sigma(m),
      varcorr = lapply(seq_len(nrow(vc)), function(i) list(
        grp = vc$grp[i], var1 = if (is.na(vc$var1[i])) NULL else vc$var1[i],
        var2 = if (is.na(vc$var2[i])) NULL else vc$var2[i], vcov = vc$vcov[i],
        sdcor = vc$sdcor[i])),
      logLik = as.numeric(logLik(m)),
      deviance = if (isREML(m)) NULL else deviance(m),
      REMLcrit = if (isREML(m)) REMLcrit(m) else NULL,
      AIC = AIC(m),
      BIC = BIC(m),
      singular = isSingular(m),
      vcov_fixef = unname(lapply(seq_len(nrow(vcov(m))),
                                 function(i) unname(as.matrix(vcov(m))[i, ]))),
      optimizer = list(name = "nloptwrap (NLOPT_LN_BOBYQA)",
                       optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 1e-12,
                                      ftol_rel = 1e-15, maxeval = 1e5),
                       evaluations = m@optinfo$feval),
      versions = versions))
    cat(sprintf("%-26s %s %.10f, groups %s, singular %s\n", case$name,
                if (case$REML) "REMLcrit" else "deviance",
                if (case$REML) REMLcrit(m) else deviance(m),
                paste(names(ngrps(m)), collapse = " "), isSingular(m)))
  }
  writeLines(toJSON(out, auto_unbox = TRUE, null = "null", digits = NA, pretty = TRUE),
             paste0(case$name, ".json"))
}

# --- poly() and scale() columns themselves, for a check of their construction to the last bits --
# Written by hand with 17 significant digits, so that every double reads back exactly (jsonlite
# keeps 15), as strings: a JSON reader need not round numbers correctly (serde_json by default
# does not), a string parser does.
exact <- function(v) paste0("[", paste0('"', sprintf("%.17g", v), '"', collapse = ","), "]")
transforms <- list(
  list(name = "chick_time", x = chick$Time, degree = 3L),
  list(name = "sleep_days", x = sleep$Days, degree = 4L),
  list(name = "schools_x", x = schools$x, degree = 5L))
entries <- vapply(transforms, function(t) {
  p <- poly(t$x, t$degree)
  sprintf('{"name":"%s","degree":%d,"x":%s,"poly":[%s],"scale":%s}', t$name, t$degree, exact(t$x),
          paste(vapply(seq_len(t$degree), function(j) exact(p[, j]), ""), collapse = ","),
          exact(scale(t$x)[, 1]))
}, "")
writeLines(sprintf('{"R":"%s","cases":[%s]}', R.version.string, paste(entries, collapse = ",")),
           "data/transforms.json")
