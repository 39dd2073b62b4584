# parsim's worker for `model = "r"` methods: the worker side of the protocol in docs/methods.md.
# parsim runs it as `Rscript -e <this source>` (it is inside the parsim binary; nothing to install), sends
# a hello frame naming the user's file and function, then one fit frame per data set.
local({
  statuses <- c("ok", "singular", "not_converged")
  fields <- c("se", "df", "ci_lower", "ci_upper", "p_value")
  bits <- c(1L, 2L, 4L, 8L, 16L)
  keys <- c("term", "estimate", fields, "status", "kind")

  inp <- file("stdin", "rb")
  # Frames are written to the pipe on fd 1 through a connection of their own; R's printed output
  # (print, cat) is diverted to standard error, so the user's code cannot corrupt the protocol.
  out <- file("/dev/stdout", "wb")
  sink(stderr())

  read_exact <- function(n) {
    got <- raw(0)
    while (length(got) < n) {
      part <- readBin(inp, "raw", n - length(got))
      if (length(part) == 0) return(NULL)
      got <- c(got, part)
    }
    got
  }
  read_frame <- function() {
    head <- read_exact(4)
    if (is.null(head)) return(NULL)
    n <- readBin(head, "integer", size = 4, endian = "little")
    if (n == 0) return(raw(0))
    read_exact(n)
  }
  u32 <- function(con) readBin(con, "integer", size = 4, endian = "little")
  # u64 as a double (exact below 2^53): R has no 64-bit integers.
  u64 <- function(con) {
    w <- readBin(con, "integer", n = 2, size = 4, endian = "little")
    w[w < 0] <- w[w < 0] + 2^32
    w[2] * 2^32 + w[1]
  }
  str_in <- function(con) {
    n <- u32(con)
    if (n == 0) "" else rawToChar(readBin(con, "raw", n))
  }
  str_out <- function(s) {
    b <- charToRaw(enc2utf8(s))
    c(writeBin(length(b), raw(), size = 4, endian = "little"), b)
  }
  send <- function(kind, ...) {
    payload <- c(charToRaw(kind), ...)
    writeBin(c(writeBin(length(payload), raw(), size = 4, endian = "little"), payload), out)
    flush(out)
  }

  # The call stack of an error, from the user's function down, as Rscript's "Calls:" line shows it.
  calls_of <- function(calls) {
    heads <- vapply(calls, function(cl) paste(deparse(cl[[1]]), collapse = ""), "")
    start <- match("user_function", heads)
    if (is.na(start)) return("")
    keep <- heads[start:length(heads)]
    keep[1] <- function_name
    keep <- keep[!keep %in% c(".handleSimpleError", "h", "stop", "withCallingHandlers", "signalCondition")]
    if (length(keep) == 0) "" else paste0("\nCalls: ", paste(utils::tail(keep, 8), collapse = " -> "))
  }
  describe <- function(e, calls) {
    call <- conditionCall(e)
    # The worker calls the user's function as user_function: show it under its own name.
    if (is.call(call) && identical(call[[1]], as.name("user_function"))) call[[1]] <- as.name(function_name)
    where <- if (is.null(call)) "" else paste0(" in ", paste(deparse(call), collapse = " "))
    paste0("Error", where, ": ", conditionMessage(e), calls_of(calls))
  }

  function_name <- "analyse"
  user_function <- NULL

  hello <- function(body) {
    con <- rawConnection(body)
    on.exit(close(con))
    readBin(con, "raw", 1)
    version <- u32(con)
    name <- str_in(con)
    path <- str_in(con)
    function_name <<- str_in(con)
    if (version != 1) return(send("E", str_out(paste("the worker speaks protocol 1, parsim sent", version))))
    env <- new.env(parent = globalenv())
    loaded <- tryCatch({ sys.source(path, envir = env, keep.source = TRUE); NULL },
                       error = function(e) e)
    if (!is.null(loaded)) {
      return(send("E", str_out(paste0(basename(path), " failed to load: ", conditionMessage(loaded)))))
    }
    if (!exists(function_name, envir = env, inherits = FALSE) ||
        !is.function(get(function_name, envir = env))) {
      return(send("E", str_out(paste0(basename(path), " defines no function `", function_name, "`"))))
    }
    user_function <<- get(function_name, envir = env)
    if (exists("setup", envir = env, inherits = FALSE) && is.function(get("setup", envir = env))) {
      failed <- tryCatch({ get("setup", envir = env)(); NULL }, error = function(e) e)
      if (!is.null(failed)) return(send("E", str_out(paste0("setup() failed: ", conditionMessage(failed)))))
    }
    send("R", str_out(paste0(R.version.string)))
  }

  malformed <- function(why) stop(structure(class = c("malformed", "error", "condition"),
                                            list(message = why, call = NULL)))

  # The result as a list of rows (each a list with term, estimate and optional fields).
  rows_of <- function(result) {
    if (is.data.frame(result)) {
      unknown <- setdiff(names(result), keys)
      if (length(unknown)) malformed(paste0("a data frame with the column(s) ", paste(unknown, collapse = ", "),
                                            "; it may have ", paste(keys, collapse = ", ")))
      if (!all(c("term", "estimate") %in% names(result))) malformed("a data frame without term and estimate columns")
      return(lapply(seq_len(nrow(result)), function(i) lapply(result, function(col) col[[i]])))
    }
    if ((is.numeric(result) || is.list(result)) && !is.null(names(result)) && all(names(result) != "")) {
      return(lapply(seq_along(result), function(i) {
        v <- result[[i]]
        if (!is.numeric(v) || length(v) < 1 || length(v) > 3) {
          malformed(paste0("`", names(result)[i], "` = ", paste(deparse(v), collapse = " "),
                           "; give estimate, c(estimate, se) or c(estimate, se, df)"))
        }
        row <- list(term = names(result)[i], estimate = v[1])
        if (length(v) > 1) row$se <- v[2]
        if (length(v) > 2) row$df <- v[3]
        row
      }))
    }
    malformed(paste0("a ", class(result)[1], "; return a named numeric vector or list (term = estimate, ",
                     "or c(estimate, se[, df])) or a data frame with term and estimate columns"))
  }

  number <- function(v, field, term) {
    if (is.null(v) || (length(v) == 1 && is.na(v) && field != "estimate")) return(NULL)
    if (!is.numeric(v) && !is.logical(v) || length(v) != 1) {
      malformed(paste0(paste(deparse(v), collapse = " "), " as the ", field, " of `", term, "`, not a number"))
    }
    as.double(v)
  }

  outcome <- function(result, notes, status) {
    rows <- rows_of(result)
    parts <- vector("list", length(rows))
    for (k in seq_along(rows)) {
      row <- rows[[k]]
      term <- row$term
      if (is.factor(term)) term <- as.character(term)
      if (!is.character(term) || length(term) != 1 || is.na(term)) malformed("a row without a term name")
      estimate <- number(row$estimate, "estimate", term)
      if (is.null(estimate)) malformed(paste0("a row for `", term, "` without an estimate"))
      mask <- 0L
      values <- c(estimate, 0, 0, 0, 0, 0)
      for (j in seq_along(fields)) {
        v <- number(row[[fields[j]]], fields[j], term)
        if (!is.null(v)) {
          mask <- bitwOr(mask, bits[j])
          values[j + 1] <- v
        }
      }
      kind <- row$kind
      if (!is.null(kind) && !is.na(kind)) {
        if (identical(as.character(kind), "variance")) mask <- bitwOr(mask, 32L)
        else if (!identical(as.character(kind), "fixed")) malformed(paste0("kind \"", kind, "\" for `", term, "`"))
      }
      s <- row$status
      if (!is.null(s) && !is.na(s)) {
        at <- match(as.character(s), statuses)
        if (is.na(at)) malformed(paste0("status \"", s, "\" for `", term, "`; it must be ok, singular or not_converged"))
        status <- max(status, at)
      }
      parts[[k]] <- c(str_out(term), as.raw(mask), writeBin(values, raw(), size = 8, endian = "little"))
    }
    send("O", str_out(statuses[status]), str_out(paste(unique(notes), collapse = "; ")),
         writeBin(length(rows), raw(), size = 4, endian = "little"), unlist(parts))
  }

  fit <- function(body) {
    con <- rawConnection(body)
    on.exit(close(con))
    readBin(con, "raw", 1)
    head <- readBin(con, "integer", n = 18, size = 4, endian = "little")
    # The integer seed is the last of the nine u64 (below 2^31: its low word).
    seed <- head[17]
    count <- u32(con)
    condition <- list()
    for (k in seq_len(count)) {
      name <- str_in(con)
      condition[[name]] <- readBin(con, "double", size = 8, endian = "little")
    }
    rows <- u64(con)
    ncols <- u32(con)
    columns <- list()
    for (k in seq_len(ncols)) {
      name <- str_in(con)
      kind <- as.integer(readBin(con, "raw", 1))
      columns[[name]] <- if (kind == 0) {
        readBin(con, "double", n = rows, size = 8, endian = "little")
      } else if (kind == 1) {
        w <- readBin(con, "integer", n = 2 * rows, size = 4, endian = "little")
        lo <- w[c(TRUE, FALSE)]
        hi <- w[c(FALSE, TRUE)]
        if (all(hi == ifelse(lo < 0, -1L, 0L))) lo else hi * 2^32 + ifelse(lo < 0, lo + 2^32, lo)
      } else {
        vapply(seq_len(rows), function(i) str_in(con), "")
      }
    }
    data <- structure(columns, class = "data.frame", row.names = c(NA_integer_, -as.integer(rows)))
    notes <- character()
    status <- 1L
    calls <- NULL
    set.seed(seed)
    result <- tryCatch(
      withCallingHandlers(
        list(value = user_function(data, condition, seed)),
        warning = function(w) {
          notes <<- c(notes, paste0("warning: ", conditionMessage(w)))
          if (grepl("converge", conditionMessage(w), ignore.case = TRUE)) status <<- 3L
          invokeRestart("muffleWarning")
        },
        error = function(e) calls <<- sys.calls()
      ),
      error = function(e) list(error = describe(e, calls))
    )
    if (!is.null(result$error)) return(send("E", str_out(result$error)))
    answered <- tryCatch({ outcome(result$value, notes, status); TRUE },
                         malformed = function(e) {
                           send("E", str_out(paste0(function_name, "() returned ", conditionMessage(e))))
                           TRUE
                         })
    invisible(answered)
  }

  body <- read_frame()
  if (is.null(body) || length(body) == 0 || rawToChar(body[1]) != "H") quit(save = "no", status = 0)
  hello(body)
  if (is.null(user_function)) quit(save = "no", status = 0)
  repeat {
    body <- read_frame()
    if (is.null(body)) break
    if (length(body) > 0 && rawToChar(body[1]) == "F") {
      failed <- tryCatch({ fit(body); NULL }, error = function(e) conditionMessage(e))
      if (!is.null(failed)) send("E", str_out(paste("the worker could not answer:", failed)))
    } else {
      send("E", str_out("unexpected message type"))
    }
  }
  quit(save = "no", status = 0)
})
