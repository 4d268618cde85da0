#!/usr/bin/env bash
#
# lint.sh - bans C library calls that invite overflows, unchecked parsing
# or shell injection from mamori's sources (src/, tests/, bench/: *.c, *.h).
#
# Banned: strcpy strcat sprintf vsprintf gets strtok strndup atoi atol atoll sscanf
# strncpy system popen (popen is allowed under tests/ only).  A call is the
# name as a whole word followed by "(", outside comments, string and
# character literals; snprintf, vsnprintf, mamori_system() and ->system(
# are not calls of the banned names.
#
# A line may carry an exception as a trailing comment:
#     strcpy(dst, "x"); /* lint: allow strcpy */
# Exceptions are counted and printed; one that allows nothing on its line is
# itself an error.  Prints each violation as file:line: message and exits 1
# if there is any.  Must stay fast (one perl process for the whole tree) and
# must never modify a file.
#
# Usage: scripts/lint.sh [file...]   (default: the whole tree)
set -euo pipefail

cd "$(dirname "$0")/.."

if [ "$#" -gt 0 ]; then
	files=("$@")
else
	mapfile -d '' files < <(find src tests bench -type f \
	    \( -name '*.c' -o -name '*.h' \) -print0 2>/dev/null | sort -z)
fi

if [ "${#files[@]}" -eq 0 ]; then
	echo "lint: no files to check" >&2
	exit 1
fi

exec perl -e '
use strict;
use warnings;

my %why = (
	strcpy   => "use mamori_strlcpy() or memcpy() with a checked length",
	strcat   => "use snprintf() or a mamori_buf",
	sprintf  => "use snprintf()",
	vsprintf => "use vsnprintf()",
	gets     => "use fgets() or mamori_next_line()",
	strtok   => "use strtok_r(), strsep() or a mamori_cursor",
	atoi     => "use mamori_parse_u64() (atoi cannot report errors)",
	atol     => "use mamori_parse_u64() (atol cannot report errors)",
	atoll    => "use mamori_parse_u64() (atoll cannot report errors)",
	sscanf   => "use mamori_parse_u64() or a mamori_cursor",
	strncpy  => "use mamori_strlcpy() (strncpy may not terminate)",
	strndup  => "use mamori_memdup_str() (strndup reads its input as a C string)",
	system   => "run programs with posix_spawn()/execve() and no shell",
	popen    => "run programs with posix_spawn()/execve() and no shell",
);
my $names = join("|", sort { length($b) <=> length($a) } keys %why);
my $call = qr/(?<![\w.>])($names)\s*\(/;
my $allow = qr{/\*\s*lint:\s*allow\s+(\w+)\s*\*/};

my ($violations, $exceptions) = (0, 0);

for my $file (@ARGV) {
	open(my $fh, "<", $file) or do {
		print "$file:0: cannot read: $!\n";
		$violations++;
		next;
	};
	my $in_comment = 0;
	my $popen_ok = $file =~ m{^(\./)?tests/};
	while (my $line = <$fh>) {
		my %allowed;
		$allowed{$1} = 1 while $line =~ /$allow/g;

		# Strip comments and literals, keeping block-comment state
		# across lines.
		my $code = "";
		my $s = $line;
		while (length $s) {
			if ($in_comment) {
				if ($s =~ s{^.*?\*/}{}s) {
					$in_comment = 0;
				} else {
					$s = "";
				}
			} elsif ($s =~ s{^/\*}{}) {
				$in_comment = 1;
				$code .= " ";
			} elsif ($s =~ m{^//}) {
				$s = "";
			} elsif ($s =~ s{^"(?:[^"\\\n]|\\.)*"?}{}) {
				$code .= "\"\"";
			} elsif ($s =~ s{^\x27(?:[^\x27\\\n]|\\.)*\x27?}{}) {
				$code .= "0";
			} elsif ($s =~ s{^([^/"\x27]+|.)}{}s) {
				$code .= $1;
			}
		}

		while ($code =~ /$call/g) {
			my $name = $1;
			next if $name eq "popen" && $popen_ok;
			if ($allowed{$name}) {
				$allowed{$name} = 2;
				$exceptions++;
				print "$file:$.: exception: $name allowed\n";
				next;
			}
			print "$file:$.: banned call $name(): $why{$name}\n";
			$violations++;
		}
		for my $name (sort keys %allowed) {
			next if $allowed{$name} == 2;
			print "$file:$.: \"lint: allow $name\" allows " .
			    "no call on this line\n";
			$violations++;
		}
	}
	close($fh);
}

printf("lint: %d file(s), %d exception(s), %d violation(s)\n",
    scalar(@ARGV), $exceptions, $violations);
exit($violations ? 1 : 0);
' -- "${files[@]}"
