#!/usr/bin/perl
# Mail::DKIM's signing loop for tests/bench/sign (rsa-sha256 relaxed/relaxed;
# Mail::DKIM 1.20230212 cannot make ed25519-sha256 signatures).
#   sign_maildkim.pl KEYFILE SELECTOR LISTFILE BIGFILE -> "msgs_per_s=N big_mb_per_s=N"
use strict;
use warnings;
use Mail::DKIM::Signer;
use Mail::DKIM::PrivateKey;
sub cpu { my ($u, $s) = times; return $u + $s; }   # process CPU time

my ($keyfile, $sel, $list, $bigfile) = @ARGV;
my $key = Mail::DKIM::PrivateKey->load(File => $keyfile);
sub slurp { local $/; open(my $f, '<:raw', $_[0]) or die "$_[0]: $!"; my $d = <$f>; return $d; }
open(my $lf, '<', $list) or die;
my @msgs = map { chomp; slurp($_) } grep { /\S/ } <$lf>;
my $big = slurp($bigfile);

sub sign_one {
	my $s = Mail::DKIM::Signer->new(Algorithm => 'rsa-sha256', Method => 'relaxed',
	    Domain => 'example.com', Selector => $sel, Key => $key);
	$s->PRINT($_[0]);
	$s->CLOSE;
	my $h = $s->signature->as_string;
}
my $t0 = cpu();
sign_one($_) for @msgs;
my $t = cpu() - $t0;
printf("msgs_per_s=%.0f ", @msgs / $t);
$t0 = cpu();
sign_one($big) for 1 .. 3;
$t = cpu() - $t0;
printf("big_mb_per_s=%.1f\n", 3 * length($big) / 1e6 / $t);
