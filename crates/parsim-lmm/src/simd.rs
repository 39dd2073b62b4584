//! Hot loops compiled twice, for the baseline and for AVX2, the choice made at run time.

/// A function `$name` (a method on `&mut self`, or a free function) that runs `$inner` (an
/// `#[inline(always)]` function with the same arguments) compiled for AVX2 when the processor
/// has it, else as compiled for the baseline: four doubles per instruction instead of two in the
/// loops that vectorize. The same IEEE operations (no FMA contraction), so the same bits.
macro_rules! avx2_dispatch {
    ($(#[$attr:meta])* $vis:vis fn $name:ident = $inner:ident / $avx2:ident
        (&mut self $(, $arg:ident: $ty:ty)*) $(-> $ret:ty)?) => {
        $(#[$attr])*
        $vis fn $name(&mut self $(, $arg: $ty)*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the processor supports AVX2, checked just above.
                return unsafe { self.$avx2($($arg),*) };
            }
            self.$inner($($arg),*)
        }

        /// The AVX2 compilation of the method of the same name without the suffix.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        #[allow(clippy::too_many_arguments)]
        fn $avx2(&mut self $(, $arg: $ty)*) $(-> $ret)? {
            self.$inner($($arg),*)
        }
    };
    ($(#[$attr:meta])* $vis:vis fn $name:ident = $inner:ident / $avx2:ident
        ($($arg:ident: $ty:ty),*) $(-> $ret:ty)?) => {
        $(#[$attr])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the processor supports AVX2, checked just above.
                return unsafe { $avx2($($arg),*) };
            }
            $inner($($arg),*)
        }

        /// The AVX2 compilation of the function of the same name without the suffix.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn $avx2($($arg: $ty),*) $(-> $ret)? {
            $inner($($arg),*)
        }
    };
}

pub(crate) use avx2_dispatch;
