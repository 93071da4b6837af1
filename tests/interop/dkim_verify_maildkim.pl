#!/usr/bin/perl
# Verify every DKIM-Signature of each message with Mail::DKIM.
#   dkim_verify_maildkim.pl KEYS N FILE...
# KEYS: "SELECTOR._domainkey.DOMAIN RECORD" lines. The DNS lookup is replaced
# (Mail::DKIM::DNS::query), so no DNS traffic. Prints, per signature among the
# first N (Mail::DKIM lists them in message order):
#   FILE <tab> INDEX <tab> SELECTOR <tab> pass|fail <tab> result detail
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Net::DNS;

my ($keyfile, $n, @files) = @ARGV;
my %keys;
open(my $kf, '<', $keyfile) or die "$keyfile: $!";
while (<$kf>) {
	chomp;
	my ($name, $rec) = split(/ /, $_, 2);
	$name =~ s/\.$//;
	$keys{lc $name} = $rec;
}
close($kf);

{
	no warnings 'redefine';
	*Mail::DKIM::DNS::query = sub {
		my ($domain, $type) = @_;
		$domain =~ s/\.$//;
		my $rec = $keys{lc $domain};
		if (!defined $rec || uc($type) ne 'TXT') {
			$@ = 'NXDOMAIN';
			return;
		}
		$@ = 'NOERROR';
		my @chunks = ($rec =~ /(.{1,255})/gs);
		return Net::DNS::RR->new(name => $domain, type => 'TXT', txtdata => [@chunks]);
	};
}

for my $path (@files) {
	open(my $fh, '<:raw', $path) or die "$path: $!";
	my $v = Mail::DKIM::Verifier->new();
	my $buf;
	while (read($fh, $buf, 65536)) {
		$v->PRINT($buf);
	}
	close($fh);
	$v->CLOSE;
	my @sigs = $v->signatures;
	for my $i (0 .. $n - 1) {
		my $s = $sigs[$i];
		if (!$s) {
			print "$path\t$i\t?\tfail\tsignature not found\n";
			next;
		}
		my $r = $s->result // 'none';
		my $d = $s->result_detail // '';
		$d =~ s/\s+/ /g;
		printf("%s\t%d\t%s\t%s\t%s\n", $path, $i, $s->selector // '?',
		    $r eq 'pass' ? 'pass' : 'fail', $d);
	}
}
