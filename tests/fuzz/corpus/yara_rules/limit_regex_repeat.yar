rule a { strings: $r = /(a{1,32767}){1,32767}/ condition: $r }
