/* src/report/html.c: --html-file, one self-contained HTML page of a report.
 *
 * The page carries its data as one JSON object (built with cJSON) in a
 * <script type="application/json"> element, and draws it with inline CSS and
 * JavaScript written for this file: a pause timeline on a canvas and a pause
 * histogram per generation in SVG.  A Content-Security-Policy meta tag allows
 * no request to any network, so the page works offline and as a CI artifact
 * and cannot leak what it shows.  The timeline holds at most HTML_POINTS_MAX
 * points: for a bigger window every pause above the p99 is kept and the rest
 * sampled at an even stride, and the page states both counts.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/report.h"
#include "gc_monitor/stacks.h"
#include "gc_monitor/stats.h"
#include "report_internal.h"

/* Enough points to see the shape of any run; few enough that the page
 * stays around a megabyte and draws in a blink. */
#define HTML_POINTS_MAX 20000u

/* Histogram buckets per power of two of the page's chart: coarse enough to
 * read, fine enough to show two modes apart. */
#define HTML_HIST_PER_OCTAVE 4
#define HTML_HIST_KEYS (HTML_HIST_PER_OCTAVE * 64)

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
    "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
    "connect-src 'none'; base-uri 'none'; form-action 'none'\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>pygcprofiler report</title>\n<style>\n"
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}\n"
    "h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.4em 0 .4em}\n"
    ".sub{color:#666}.kpis{display:flex;flex-wrap:wrap;gap:.6em}\n"
    ".kpi{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.5em .8em;"
    "min-width:8em}\n.kpi b{display:block;font-size:1.3em}\n"
    "table{border-collapse:collapse;background:#fff}"
    "td,th{border:1px solid #ddd;padding:.2em .6em;text-align:right}\n"
    "th:first-child,td:first-child{text-align:left}\n"
    "#timeline{background:#fff;border:1px solid #ddd;cursor:crosshair;width:100%}\n"
    "#tip{position:fixed;pointer-events:none;background:#333;color:#fff;padding:.3em .5em;"
    "border-radius:4px;font-size:12px;display:none;white-space:pre}\n"
    ".legend span{margin-right:1em}.g0{color:#1f77b4}.g1{color:#ff7f0e}.g2{color:#d62728}\n"
    "svg text{font-size:11px;fill:#444}\n"
    ".verdict{font-size:1.15em;font-weight:bold;padding:.4em .7em;border-radius:6px;"
    "display:inline-block;background:#eee}\n"
    ".hurting{background:#fdd;color:#900}.noticeable{background:#ffe9c2;color:#7a4b00}"
    ".fine{background:#dfd;color:#161}\n"
    "tr.proc{cursor:pointer}tr.sel{background:#e8f0fe}\n"
    ".adv{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.4em .7em;"
    "margin:.3em 0}.adv pre{background:#f4f4f4;padding:.3em .5em;margin:.3em 0 0}\n"
    ".adv.critical,.adv.warning{border-color:#e0a0a0}\n"
    "#flame rect{stroke:#fff;stroke-width:.5}\n"
    "#triggers td:last-child,#triggers th:last-child{text-align:left}\n"
    "</style>\n</head>\n<body>\n"
    "<h1>pygcprofiler report</h1>\n<p class=\"sub\" id=\"what\"></p>\n"
    "<p class=\"verdict\" id=\"verdict\"></p>\n"
    "<section id=\"tree\" hidden>\n<h2>Processes</h2>\n"
    "<p class=\"sub\">click a process, or choose: <select id=\"proc\"></select></p>\n"
    "<table id=\"procs\"></table>\n</section>\n"
    "<h2>Summary</h2>\n<div class=\"kpis\" id=\"kpis\"></div>\n"
    "<h2>Per generation</h2>\n<table id=\"gens\"></table>\n"
    "<h2>Pause timeline</h2>\n<p class=\"sub\" id=\"tlnote\"></p>\n"
    "<p class=\"legend\"><span class=\"g0\">&#9679; gen 0</span>"
    "<span class=\"g1\">&#9679; gen 1</span><span class=\"g2\">&#9679; gen 2</span>"
    "<span class=\"sub\">drag to zoom, double-click to reset</span></p>\n"
    "<canvas id=\"timeline\" width=\"1000\" height=\"320\"></canvas>\n"
    "<div id=\"tip\"></div>\n"
    "<h2>Pause histograms</h2>\n<div id=\"hists\"></div>\n"
    "<section id=\"trig\" hidden>\n<h2>Top GC triggers</h2>\n<p class=\"sub\" "
    "id=\"trignote\"></p>\n<table id=\"triggers\"></table>\n"
    "<h2>Pause time by the stack that triggered it</h2>\n<p class=\"sub\">outermost frame "
    "at the top; a box's width is the pause time of the collections triggered under it</p>\n"
    "<svg id=\"flame\" width=\"100%\"></svg>\n</section>\n"
    "<h2>Advice</h2>\n<div id=\"advice\"></div>\n";

/* The script reads the data element and builds every part of the page.  A
 * tree's page (data with "processes") gets the process table and a selector
 * too; the charts then show the chosen process, or all of them together:
 * their summed figures and histograms, and their points on one clock. */
static const char page_script[] =
    "<script>\n"
    "\"use strict\";\n"
    "(function(){\n"
    "var started=performance.now();\n"
    "var D=JSON.parse(document.getElementById('gcm-data').textContent);\n"
    "var COL=['#1f77b4','#ff7f0e','#d62728'];\n"
    "function el(t,a,p){var e=document.createElement(t);if(a)for(var k in a)e.setAttribut"
    "e(k,a[k]);if(p)p.appendChild(e);return e;}\n"
    "function sv(t,a,p){var e=document.createElementNS('http://www.w3.org/2000/svg',t);fo"
    "r(var k in a)e.setAttribute(k,a[k]);if(p)p.appendChild(e);return e;}\n"
    "function ms(v){if(v===null||v===undefined)return '-';if(v>=1000)return (v/1000).toFi"
    "xed(2)+' s';if(v>=1)return v.toFixed(2)+' ms';return (v*1000).toFixed(1)+' \\u00b5s';"
    "}\n"
    "function num(v){return Number(v).toLocaleString('en-US');}\n"
    "function clear(e){while(e.firstChild)e.removeChild(e.firstChild);}\n"
    "var S,HG,E={t:[]},n=0;\n"
    "var kp=document.getElementById('kpis'),gt=document.getElementById('gens'),hs=documen"
    "t.getElementById('hists');\n"
    "var cv=document.getElementById('timeline'),cx=cv.getContext('2d'),tip=document.getEl"
    "ementById('tip');\n"
    "var T0=0,T1=1,L0=-3,L1=0,X0=0,X1=1,M={l:60,r:10,t:10,b:30};\n"
    "function lg(v){return Math.log10(Math.max(v,1e-4));}\n"
    "function px(t){return M.l+(t-X0)/(X1-X0)*(cv.width-M.l-M.r);}\n"
    "function py(d){return cv.height-M.b-(lg(d)-L0)/(L1-L0)*(cv.height-M.t-M.b);}\n"
    "function draw(){cx.clearRect(0,0,cv.width,cv.height);cx.strokeStyle='#ccc';cx.fillSt"
    "yle='#444';cx.font='11px sans-serif';\n"
    "for(var e=L0;e<=L1;e++){var y=py(Math.pow(10,e));cx.beginPath();cx.moveTo(M.l,y);cx."
    "lineTo(cv.width-M.r,y);cx.stroke();cx.fillText(ms(Math.pow(10,e)),2,y+4);}\n"
    "for(var k=0;k<=5;k++){var t=X0+(X1-X0)*k/5;cx.fillText(t.toFixed(3)+' s',px(t)-20,cv"
    ".height-8);}\n"
    "for(var i=0;i<n;i++){var t=E.t[i];if(t<X0||t>X1)continue;cx.fillStyle=COL[E.g[i]];cx"
    ".fillRect(px(t)-1.5,py(E.d[i])-1.5,3,3);}}\n"
    "function near(x,y){var b=-1,bd=64;for(var i=0;i<n;i++){var t=E.t[i];if(t<X0||t>X1)co"
    "ntinue;var dx=px(t)-x,dy=py(E.d[i])-y,d=dx*dx+dy*dy;if(d<bd){bd=d;b=i;}}return b;}\n"
    "function pos(ev){var r=cv.getBoundingClientRect();return [(ev.clientX-r.left)*cv.wid"
    "th/r.width,(ev.clientY-r.top)*cv.height/r.height];}\n"
    "var drag=null;\n"
    "cv.addEventListener('mousemove',function(ev){var p=pos(ev),i=near(p[0],p[1]);if(i<0)"
    "{tip.style.display='none';return;}tip.style.display='block';tip.style.left=(ev.clien"
    "tX+12)+'px';tip.style.top=(ev.clientY+12)+'px';tip.textContent=(E.p?'pid '+E.p[i]+'\\"
    "n':'')+'gen '+E.g[i]+'\\npause '+ms(E.d[i])+'\\nat '+E.t[i].toFixed(6)+' s'+'\\ncollect"
    "ed '+num(E.c[i])+'\\nuncollectable '+num(E.u[i]);});\n"
    "cv.addEventListener('mouseleave',function(){tip.style.display='none';});\n"
    "cv.addEventListener('mousedown',function(ev){drag=pos(ev)[0];});\n"
    "cv.addEventListener('mouseup',function(ev){if(drag===null)return;var x=pos(ev)[0];if"
    "(Math.abs(x-drag)>4){var w=cv.width-M.l-M.r,a=X0+(Math.min(x,drag)-M.l)/w*(X1-X0),b="
    "X0+(Math.max(x,drag)-M.l)/w*(X1-X0);X0=a;X1=b;draw();}drag=null;});\n"
    "cv.addEventListener('dblclick',function(){X0=T0;X1=T1;draw();});\n"
    "function show(P){S=P.summary;HG=P.histogram;E=P.events;n=E.t.length;\n"
    "document.getElementById('what').textContent=P.title;\n"
    "var V=P.verdict,ve=document.getElementById('verdict');\n"
    "ve.textContent=(P.whose||'GC verdict: ')+V.verdict+' ('+V.reason+')';ve.className='v"
    "erdict '+V.level;\n"
    "clear(kp);\n"
    "[['collections',num(S.count)],['GC time',ms(S.total_ms)],['share of wall time',S.sha"
    "re.toFixed(3)+' %'],['p50',ms(S.p50_ms)],['p99',ms(S.p99_ms)],['max',ms(S.max_ms)],["
    "'alerts (\\u2265 '+ms(S.alert_threshold_ms)+')',num(S.alerts)],['wall time',ms(S.wall"
    "_ms)]].forEach(function(k){var d=el('div',{'class':'kpi'},kp);d.textContent=k[0];el("
    "'b',null,d).textContent=k[1];});\n"
    "clear(gt);var hr=el('tr',null,gt);\n"
    "['generation','count','total','mean','p50','p90','p99','p99.9','max','collected','un"
    "collectable'].forEach(function(h){el('th',null,hr).textContent=h;});\n"
    "['gen0','gen1','gen2'].forEach(function(k,i){var g=S[k],r=el('tr',null,gt);[String(i"
    "),num(g.count),ms(g.total_ms),ms(g.mean_ms),ms(g.p50_ms),ms(g.p90_ms),ms(g.p99_ms),m"
    "s(g.p999_ms),ms(g.max_ms),num(g.collected),num(g.uncollectable)].forEach(function(c)"
    "{el('td',null,r).textContent=c;});});\n"
    "document.getElementById('tlnote').textContent=P.note||(n===E.retained?'showing all '"
    "+num(n)+' retained collections'+(E.retained<S.count?' (the newest of '+num(S.count)+"
    "')':''):'showing '+num(n)+' of '+num(E.retained)+' retained collections (all '+num(E"
    ".above_p99)+' above the p99 of '+ms(S.p99_ms)+', the rest sampled evenly)'+(E.retain"
    "ed<S.count?'; '+num(S.count)+' collections in all':''));\n"
    "T0=0;T1=1;L0=-3;L1=0;\n"
    "if(n){T0=E.t[0];T1=E.t[n-1];var lo=Infinity,hi=-Infinity;for(var i=0;i<n;i++){var l="
    "lg(E.d[i]);if(l<lo)lo=l;if(l>hi)hi=l;}L0=Math.floor(lo);L1=Math.ceil(hi);if(L1<=L0)L"
    "1=L0+1;if(T1<=T0)T1=T0+1e-3;}\n"
    "X0=T0;X1=T1;draw();\n"
    "clear(hs);\n"
    "['gen0','gen1','gen2'].forEach(function(k,gi){var H=HG[k],g=S[k];if(!H.length)return"
    ";var W=1000,Hh=180,m=40,kmin=H[0][0],kmax=H[H.length-1][0]+1,cmax=0;H.forEach(functi"
    "on(b){if(b[1]>cmax)cmax=b[1];});\n"
    "var sg=sv('svg',{'class':'hist','id':'hist-'+k,width:'100%',viewBox:'0 0 '+W+' '+(Hh"
    "+30)},hs);sv('text',{x:4,y:12},sg).textContent='generation '+gi+': '+num(g.count)+' "
    "pauses (bar heights: log of the count)';\n"
    "var bw=(W-2*m)/Math.max(kmax-kmin,1);function hx(key){return m+(key-kmin)*bw;}\n"
    "H.forEach(function(b){var h=Math.log(1+b[1])/Math.log(1+cmax)*(Hh-30);var r=sv('rect"
    "',{x:hx(b[0]),y:Hh-h,width:Math.max(bw-1,1),height:h,fill:COL[gi]},sg);sv('title',{}"
    ",r).textContent=ms(Math.pow(2,b[0]/HG.per_octave)/1e6)+' and up: '+num(b[1]);});\n"
    "function kx(v){return Math.min(Math.max(hx(Math.log2(Math.max(v*1e6,1))*HG.per_octav"
    "e),m),W-m);}\n"
    "[['p50',g.p50_ms],['p90',g.p90_ms],['p99',g.p99_ms],['p99.9',g.p999_ms],['max',g.max"
    "_ms]].forEach(function(p,j){var x=kx(p[1]);sv('line',{x1:x,x2:x,y1:16,y2:Hh,stroke:'"
    "#000','stroke-dasharray':'3,3','class':'pct'},sg);var r=x>W-160;sv('text',{x:r?x-3:x"
    "+3,y:24+12*j,'text-anchor':r?'end':'start'},sg).textContent=p[0]+' '+ms(p[1]);});\n"
    "for(var key=Math.ceil(kmin/HG.per_octave)*HG.per_octave;key<=kmax;key+=2*HG.per_octa"
    "ve){sv('text',{x:hx(key),y:Hh+14},sg).textContent=ms(Math.pow(2,key/HG.per_octave)/1"
    "e6);}\n"
    "});\n"
    "var ad=document.getElementById('advice');clear(ad);var AV=P.advice||[];\n"
    "AV.forEach(function(a){var d=el('div',{'class':'adv '+String(a.severity).toLowerCase("
    ")},ad);el('b',null,d).textContent=a.severity+': ';d.appendChild(document.createTextN"
    "ode(a.message));if(a.code)el('pre',null,d).textContent=a.code;});\n"
    "if(!AV.length)ad.textContent=P.advice?'No advice: nothing in this run calls for a ch"
    "ange.':'Each process has its own advice: choose one above.';\n"
    "var TR=P.triggers;document.getElementById('trig').hidden=!TR;if(TR)triggers(TR,P.fla"
    "me||[]);}\n"
    "function site(r){return (r.file===null?'(unknown)':r.file+':'+(r.line===null?'?':r."
    "line))+' in '+(r.function===null?'(unknown)':r.function);}\n"
    "function triggers(TR,F){var tb=document.getElementById('triggers');clear(tb);\n"
    "document.getElementById('trignote').textContent=num(TR.triggers.length)+' call sites"
    ", '+num(TR.stacks)+' stacks'+(TR.other?'; '+num(TR.other.count)+' collections under "
    "(other stacks): the table was full':'')+'; the top 10 by pause time';\n"
    "var hr=el('tr',null,tb);['collections','total','max','share','gen 0/1/2','call site'"
    "].forEach(function(h){el('th',null,hr).textContent=h;});\n"
    "TR.triggers.slice(0,10).forEach(function(r){var row=el('tr',null,tb);[num(r.count),m"
    "s(r.total_ms),ms(r.max_ms),r.share.toFixed(1)+' %',r.gen0+'/'+r.gen1+'/'+r.gen2,site"
    "(r)+(r.from?' (from '+site(r.from)+')':'')].forEach(function(c){el('td',null,row).te"
    "xtContent=c;});});\n"
    "var root={n:'all',v:0,k:{}},depth=0;F.forEach(function(s){var v=s[0],nd=root;root.v+"
    "=v;for(var i=1;i<s.length;i++){var c=nd.k[s[i]];if(!c)c=nd.k[s[i]]={n:s[i],v:0,k:{}}"
    ";c.v+=v;nd=c;if(i>depth)depth=i;}});\n"
    "var svg=document.getElementById('flame');clear(svg);var W=1000,RH=18;svg.setAttribut"
    "e('viewBox','0 0 '+W+' '+((depth+1)*RH));\n"
    "function box(nd,x,w,d){if(w<0.5)return;var g=sv('g',{},svg),r=sv('rect',{x:x,y:d*RH,"
    "width:w,height:RH-1,fill:d?'hsl('+(20+(nd.n.length*37)%40)+',80%,'+(60+d%3*6)+'%)':'"
    "#ccc'},g);sv('title',{},r).textContent=nd.n+'\\n'+ms(nd.v/1e6)+', '+(100*nd.v/Math.ma"
    "x(root.v,1)).toFixed(1)+' %';\n"
    "if(w>40){var t=sv('text',{x:x+3,y:d*RH+13},g);t.textContent=nd.n.length*6>w-6?nd.n.s"
    "lice(0,Math.max(0,Math.floor((w-6)/6)-1))+'\\u2026':nd.n;}\n"
    "var cx=x;Object.keys(nd.k).map(function(k){return nd.k[k];}).sort(function(a,b){retu"
    "rn b.v-a.v;}).forEach(function(c){var cw=w*c.v/Math.max(nd.v,1);box(c,cx,cw,d+1);cx+"
    "=cw;});}\n"
    "box(root,0,W,0);}\n"
    "function tree(){var P=D.processes,sel=document.getElementById('proc'),tb=document.ge"
    "tElementById('procs');\n"
    "document.getElementById('tree').hidden=false;\n"
    "var hr=el('tr',null,tb);['pid','parent','collections','GC time','share of wall time'"
    ",'p99','max','verdict'].forEach(function(h){el('th',null,hr).textContent=h;});\n"
    "var rows=P.map(function(p,i){var s=p.summary,r=el('tr',{'data-pid':String(p.pid),'cl"
    "ass':'proc'},tb);\n"
    "[String(p.pid),String(p.ppid),num(s.count),ms(s.total_ms),s.share.toFixed(3)+' %',ms"
    "(s.p99_ms),ms(s.max_ms),p.verdict.verdict].forEach(function(c){el('td',null,r).textC"
    "ontent=c;});\n"
    "r.addEventListener('click',function(){pick(String(i));});return r;});\n"
    "el('option',{value:'all'},sel).textContent='all '+P.length+' processes';\n"
    "P.forEach(function(p,i){el('option',{value:String(i)},sel).textContent='pid '+p.pid;"
    "});\n"
    "sel.addEventListener('change',function(){pick(sel.value);});\n"
    "var A={t:[],d:[],g:[],c:[],u:[],p:[]},o=[],ret=0;\n"
    "P.forEach(function(p){var e=p.events;ret+=e.retained;for(var i=0;i<e.t.length;i++)o."
    "push([e.t[i],e.d[i],e.g[i],e.c[i],e.u[i],p.pid]);});\n"
    "o.sort(function(a,b){return a[0]-b[0];});\n"
    "o.forEach(function(v){A.t.push(v[0]);A.d.push(v[1]);A.g.push(v[2]);A.c.push(v[3]);A."
    "u.push(v[4]);A.p.push(v[5]);});\n"
    "A.retained=ret;\n"
    "function pick(v){sel.value=v;rows.forEach(function(r,i){r.className=String(i)===v?'p"
    "roc sel':'proc';});\n"
    "if(v==='all'){var w=P[D.worst];show({title:D.title,whose:'worst GC verdict, pid '+w."
    "pid+': ',verdict:w.verdict,summary:D.all.summary,histogram:D.all.histogram,events:A,"
    "\n"
    "note:'showing '+num(A.t.length)+' of '+num(ret)+' retained collections of '+P.length"
    "+' processes (each process sampled as its own timeline is)'+(ret<D.all.summary.count"
    "?'; '+num(D.all.summary.count)+' collections in all':'')});}\n"
    "else{var p=P[+v];show({title:'pid '+p.pid+' (parent '+p.ppid+'): '+p.title,verdict:p"
    ".verdict,summary:p.summary,histogram:p.histogram,events:p.events,advice:p.advice,tri"
    "ggers:p.triggers,flame:p.flame});}\n"
    "document.body.setAttribute('data-selected',v);}\n"
    "var h=/^#pid=(\\d+)$/.exec(location.hash),at=h?P.findIndex(function(p){return String("
    "p.pid)===h[1];}):-1;\n"
    "pick(at>=0?String(at):'all');}\n"
    "if(D.processes)tree();else show({title:D.title,verdict:D.verdict,summary:D.summary,h"
    "istogram:D.histogram,events:D.events,advice:D.advice,triggers:D.triggers,flame:D.fla"
    "me});\n"
    "document.body.setAttribute('data-rendered','1');\n"
    "document.body.setAttribute('data-render-ms',String(Math.round(performance.now()-star"
    "ted)));\n"
    "})();\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

static int add_num(cJSON *obj, const char *key, double v)
{
    return cJSON_AddNumberToObject(obj, key, v) == NULL ? -1 : 0;
}

/* Rounds to `scale` parts (1e6: microseconds of a second) so that cJSON
 * prints short numbers. */
static double rounded(double v, double scale)
{
    return floor(v * scale + 0.5) / scale;
}

/* Adds the timeline's point arrays: start time in seconds since the
 * recorder started, pause in ms, generation, collected, uncollectable.
 * Every pause above the p99's histogram bucket is kept (the p99 itself is a
 * bucket's midpoint, so "above the p99" is "above that bucket", which at
 * most 1% of the pauses are); of the rest, an even sample fills the page. */
static int add_events(cJSON *root, const gcm_report_input *in, uint64_t p99_ns, uint64_t limit,
                      uint64_t offset_ns)
{
    uint64_t bucket_lo, tail_ns;
    static const char *const keys[] = {"t", "d", "g", "c", "u"};
    cJSON *obj = cJSON_AddObjectToObject(root, "events");
    cJSON *arr[5];
    uint64_t above = 0, rest = 0, room = 0, kept = 0;
    int status = -1;

    if (obj == NULL)
        goto done;
    gcm_hist_bounds(gcm_hist_index(p99_ns), &bucket_lo, &tail_ns);
    for (size_t k = 0; k < 5; k++) {
        arr[k] = cJSON_AddArrayToObject(obj, keys[k]);
        if (arr[k] == NULL)
            goto done;
    }
    for (size_t i = 0; i < in->event_count; i++)
        if (in->events[i].duration_ns > tail_ns)
            above++;
    /* Of the `rest` pauses at or below the p99, `room` are kept, evenly:
     * the nth is kept when n * room / rest moves on to the next whole number. */
    rest = in->event_count - above;
    room = in->event_count <= limit ? rest : above < limit ? limit - above : 0;
    for (uint64_t i = 0, nth = 0; i < in->event_count; i++) {
        const gcm_event *e = &in->events[i];
        double t =
            (double)((int64_t)e->start_ns - in->snapshot->init_monotonic_ns + (int64_t)offset_ns) /
            1e9;
        double v[5];

        if (e->duration_ns <= tail_ns) {
            uint64_t n = nth++;

            if ((n + 1) * room / rest == n * room / rest)
                continue;
        }
        v[0] = rounded(t, 1e6);
        v[1] = (double)e->duration_ns / 1e6;
        v[2] = (double)(e->generation < GCM_GENERATIONS ? e->generation : 0);
        v[3] = (double)e->collected;
        v[4] = (double)e->uncollectable;
        for (size_t k = 0; k < 5; k++) {
            cJSON *item = cJSON_CreateNumber(v[k]);
            if (item == NULL)
                goto done;
            if (!cJSON_AddItemToArray(arr[k], item)) {
                cJSON_Delete(item);
                goto done;
            }
        }
        kept++;
    }
    if (add_num(obj, "retained", (double)in->event_count) != 0 ||
        add_num(obj, "shown", (double)kept) != 0 || add_num(obj, "above_p99", (double)above) != 0 ||
        add_num(obj, "p99_ms", (double)p99_ns / 1e6) != 0 ||
        add_num(obj, "tail_ms", (double)tail_ns / 1e6) != 0 ||
        add_num(obj, "first_index", (double)in->first_event_index) != 0)
        goto done;
    status = 0;
done:
    return status;
}

/* Adds "histogram": per generation, [key, count] pairs of the pauses whose
 * lower histogram bound lies in [2^(key/4), 2^((key+1)/4)) ns, from the
 * exact histogram of every pause recorded. */
static int add_histogram(cJSON *root, const gcm_snapshot *snap)
{
    static const char *const gen_keys[GCM_GENERATIONS] = {"gen0", "gen1", "gen2"};
    cJSON *obj = cJSON_AddObjectToObject(root, "histogram");
    int status = -1;

    if (obj == NULL || add_num(obj, "per_octave", HTML_HIST_PER_OCTAVE) != 0)
        goto done;
    for (uint32_t g = 0; g < GCM_GENERATIONS; g++) {
        uint64_t counts[HTML_HIST_KEYS];
        cJSON *arr = cJSON_AddArrayToObject(obj, gen_keys[g]);

        if (arr == NULL)
            goto done;
        memset(counts, 0, sizeof counts);
        for (uint32_t i = 0; i < GCM_HIST_BUCKETS; i++) {
            uint64_t lo, hi;
            int key;

            if (snap->gen[g].hist[i] == 0)
                continue;
            gcm_hist_bounds(i, &lo, &hi);
            key = lo == 0 ? 0 : (int)floor(log2((double)lo) * HTML_HIST_PER_OCTAVE);
            if (key < 0)
                key = 0;
            if (key >= HTML_HIST_KEYS)
                key = HTML_HIST_KEYS - 1;
            counts[key] += snap->gen[g].hist[i];
        }
        for (int k = 0; k < HTML_HIST_KEYS; k++) {
            cJSON *pair;
            const double v[2] = {(double)k, (double)counts[k]};

            if (counts[k] == 0)
                continue;
            pair = cJSON_CreateDoubleArray(v, 2);
            if (pair == NULL)
                goto done;
            if (!cJSON_AddItemToArray(arr, pair)) {
                cJSON_Delete(pair);
                goto done;
            }
        }
    }
    status = 0;
done:
    return status;
}

/* Adds the JSON lines a renderer writes (`render`, advice's or the
 * triggers') to `root` under `key`: as an array of their objects, or, with
 * `one`, the single object (nothing when the renderer wrote none).  Returns 0
 * or an error code. */
static int add_rendered(cJSON *root, const char *key, int one, const gcm_report_input *in,
                        const gcm_summary *sum,
                        int (*render)(const gcm_report_input *in, const gcm_summary *sum,
                                      const gcm_sink *sink))
{
    gcm__membuf mem = {NULL, 0, 0};
    gcm_sink sink = {gcm__membuf_write, &mem};
    cJSON *arr = NULL;
    int status = render(in, sum, &sink);

    if (status != 0 || mem.buf == NULL)
        goto done;
    status = GCM_ENOMEM;
    arr = cJSON_CreateArray();
    if (arr == NULL)
        goto done;
    for (char *line = mem.buf; *line != '\0';) {
        char *end = strchr(line, '\n');
        cJSON *obj;

        if (end != NULL)
            *end = '\0';
        obj = cJSON_Parse(line);
        if (obj == NULL || !cJSON_AddItemToArray(arr, obj)) {
            cJSON_Delete(obj);
            goto done;
        }
        if (end == NULL)
            break;
        line = end + 1;
    }
    if (one) {
        cJSON *first = cJSON_DetachItemFromArray(arr, 0);
        if (first != NULL && !cJSON_AddItemToObject(root, key, first)) {
            cJSON_Delete(first);
            goto done;
        }
    } else {
        if (!cJSON_AddItemToObject(root, key, arr))
            goto done;
        arr = NULL;
    }
    status = 0;
done:
    cJSON_Delete(arr);
    free(mem.buf);
    return status;
}

/* The triggers' JSON line, in the signature add_rendered takes. */
static int triggers_jsonl(const gcm_report_input *in, const gcm_summary *sum, const gcm_sink *sink)
{
    (void)sum;
    return gcm__render_triggers_jsonl(in, sink);
}

/* One stack of the flame graph: [pause ns, outermost frame, ..., innermost
 * frame], the stand-in frames named as every exported profile names them. */
static int add_flame_stack(const gcm__trigger_stack *s, void *ctx)
{
    const gcm_stack_table *t = ((void **)ctx)[0];
    cJSON *arr = ((void **)ctx)[1];
    cJSON *stack = cJSON_CreateArray();

    if (stack == NULL || !cJSON_AddItemToArray(arr, stack) ||
        !cJSON_AddItemToArray(stack, cJSON_CreateNumber((double)s->total_ns)))
        return GCM_ENOMEM;
    if (s->frames == NULL)
        return cJSON_AddItemToArray(stack, cJSON_CreateString(GCM__FRAME_OTHER_STACKS))
                   ? 0
                   : GCM_ENOMEM;
    if (s->truncated && !cJSON_AddItemToArray(stack, cJSON_CreateString(GCM__FRAME_CUT)))
        return GCM_ENOMEM;
    /* The table keeps the innermost frame first; the graph grows from the
     * outermost. */
    for (uint32_t d = s->depth; d > 0; d--) {
        const gcm_stack_frame *f = &s->frames[d - 1u];
        const gcm_stack_site *site =
            f->site == GCM_STACK_NO_SITE ? NULL : gcm_stacks_site(t, f->site);
        char name[GCM_STACK_FUNC_SIZE + GCM_STACK_FILE_SIZE + 32];

        if (site == NULL)
            (void)snprintf(name, sizeof name, "%s", GCM__FRAME_UNNAMED);
        else
            (void)snprintf(name, sizeof name, "%s (%s:%d)", site->func, site->file, (int)f->line);
        if (!cJSON_AddItemToArray(stack, cJSON_CreateString(name)))
            return GCM_ENOMEM;
    }
    return 0;
}

/* The page's flame graph of trigger stacks (gcm__trigger_stacks_each): one
 * add_flame_stack array per stack.  Returns 0 or GCM_ENOMEM. */
static int add_flame(cJSON *root, const gcm_stack_table *t)
{
    void *ctx[2] = {(void *)t, cJSON_AddArrayToObject(root, "flame")};

    if (ctx[1] == NULL)
        return GCM_ENOMEM;
    return gcm__trigger_stacks_each(t, add_flame_stack, ctx);
}

/* The page's data object of one process: at most `limit` timeline points,
 * their times `offset_ns` after the start of monitoring (a tree's clock).
 * Returns NULL only if memory runs out. */
static cJSON *page_data(const gcm_report_input *in, uint64_t limit, uint64_t offset_ns)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *result = NULL;
    cJSON *summary;
    cJSON *verdict;
    gcm_summary sum;
    char title[256];

    if (root == NULL || gcm_summarize(in->snapshot, &sum) != 0)
        goto done;
    summary = gcm_summary_json(in->snapshot);
    if (summary == NULL)
        goto done;
    if (!cJSON_AddItemToObject(root, "summary", summary)) {
        cJSON_Delete(summary);
        goto done;
    }
    /* The answer first, as every report gives it (recommendations.md). */
    verdict = gcm__verdict_json(in, &sum);
    if (verdict == NULL)
        goto done;
    if (!cJSON_AddItemToObject(root, "verdict", verdict)) {
        cJSON_Delete(verdict);
        goto done;
    }
    (void)snprintf(title, sizeof title, "process %lld, Python %s%s", (long long)sum.pid,
                   in->python_version != NULL ? in->python_version : "unknown",
                   in->free_threaded ? " (free-threaded)" : "");
    if (cJSON_AddStringToObject(root, "title", title) == NULL ||
        add_num(root, "schema_version", 1) != 0 ||
        add_events(root, in, sum.all.p99_ns, limit, offset_ns) != 0 ||
        add_histogram(root, in->snapshot) != 0 ||
        add_rendered(root, "advice", 0, in, &sum, gcm__render_advice_jsonl) != 0)
        goto done;
    /* The call sites, with --stacks (the exit report has the table). */
    if (in->stacks != NULL && (add_rendered(root, "triggers", 1, in, &sum, triggers_jsonl) != 0 ||
                               add_flame(root, in->stacks) != 0))
        goto done;
    result = root;
    root = NULL;
done:
    cJSON_Delete(root);
    return result;
}

/* The end of process `s`'s run in realtime: its recorded end, or for a
 * running one the moment of the snapshot. */
static int64_t end_realtime(const gcm_snapshot *s)
{
    if (s->state != GCM_STATE_RUNNING && s->end_realtime_ns != 0)
        return s->end_realtime_ns;
    return s->init_realtime_ns + ((int64_t)s->taken_monotonic_ns - s->init_monotonic_ns);
}

/* Sums the snapshots of a tree's processes into `m`, as if one process had
 * recorded every pause: counts, totals and histograms added, extremes over
 * all, causes added when every process recorded them, and a wall time from
 * the earliest start of monitoring to the latest end. */
static void merge_snapshots(const gcm_report_input *const *ins, size_t count, gcm_snapshot *m)
{
    int64_t end = 0;

    memset(m, 0, sizeof *m);
    m->pid = ins[0]->snapshot->pid;
    m->ppid = ins[0]->snapshot->ppid;
    m->init_realtime_ns = ins[0]->snapshot->init_realtime_ns;
    m->alert_threshold_ns = ins[0]->snapshot->alert_threshold_ns;
    m->bucket_count = ins[0]->snapshot->bucket_count;
    memcpy(m->bucket_bounds_ns, ins[0]->snapshot->bucket_bounds_ns, sizeof m->bucket_bounds_ns);
    m->layout_version = ins[0]->snapshot->layout_version;
    m->causes_known = 1;
    for (size_t i = 0; i < count; i++) {
        const gcm_snapshot *s = ins[i]->snapshot;

        for (uint32_t g = 0; g < GCM_GENERATIONS; g++)
            gcm_gen_snapshot_add(&m->gen[g], &s->gen[g]);
        gcm_gen_snapshot_add(&m->all, &s->all);
        for (uint32_t c = 0; c < GCM_CAUSES; c++) {
            m->cause[c].count += s->cause[c].count;
            m->cause[c].total_ns += s->cause[c].total_ns;
            if (s->cause[c].max_ns > m->cause[c].max_ns)
                m->cause[c].max_ns = s->cause[c].max_ns;
            for (uint32_t g = 0; g < GCM_GENERATIONS; g++)
                m->cause[c].gen_count[g] += s->cause[c].gen_count[g];
        }
        m->causes_known &= s->causes_known != 0;
        m->events_total += s->events_total;
        m->overwritten += s->overwritten;
        m->dropped_stops += s->dropped_stops;
        m->unusable_info += s->unusable_info;
        m->bursts += s->bursts;
        m->unseen += s->unseen;
        m->missed += s->missed;
        m->event_flags |= s->event_flags;
        m->torn |= s->torn;
        if (s->init_realtime_ns < m->init_realtime_ns)
            m->init_realtime_ns = s->init_realtime_ns;
        if (end_realtime(s) > end)
            end = end_realtime(s);
    }
    if (!m->causes_known)
        memset(m->cause, 0, sizeof m->cause);
    /* Ended, so that the wall time is the realtime span. */
    m->state = GCM_STATE_EXITED;
    m->end_realtime_ns = end;
}

/* The data object of a tree's page: each process's own data (at most an
 * even share of the timeline points each), the figures of all of them
 * together, and the process whose verdict is the worst.  Returns NULL only
 * if memory runs out. */
static cJSON *tree_data(const gcm_report_input *const *ins, size_t count)
{
    const uint64_t limit = HTML_POINTS_MAX / count > 0 ? HTML_POINTS_MAX / count : 1u;
    cJSON *root = cJSON_CreateObject();
    cJSON *result = NULL;
    cJSON *procs, *all, *summary;
    gcm_snapshot *merged = malloc(sizeof *merged);
    size_t worst = 0;
    int worst_level = -1;
    char title[128];

    if (root == NULL || merged == NULL)
        goto done;
    GCM__JSON_ADD(procs = cJSON_AddArrayToObject(root, "processes"));
    for (size_t i = 0; i < count; i++) {
        uint64_t offset = gcm__process_offset_ns(ins, count, i);
        cJSON *pd = page_data(ins[i], limit, offset);
        gcm_summary sum;
        gcm__verdict v;

        if (pd == NULL)
            goto done;
        if (!cJSON_AddItemToArray(procs, pd)) {
            cJSON_Delete(pd);
            goto done;
        }
        if (add_num(pd, "pid", (double)ins[i]->snapshot->pid) != 0 ||
            add_num(pd, "ppid", (double)ins[i]->snapshot->ppid) != 0 ||
            add_num(pd, "offset_s", rounded((double)offset / 1e9, 1e6)) != 0 ||
            gcm_summarize(ins[i]->snapshot, &sum) != 0)
            goto done;
        /* The first in tree order among equals, as the text table says. */
        gcm__verdict_compute(ins[i], &sum, &v);
        if (v.level > worst_level) {
            worst_level = v.level;
            worst = i;
        }
    }
    merge_snapshots(ins, count, merged);
    GCM__JSON_ADD(all = cJSON_AddObjectToObject(root, "all"));
    summary = gcm_summary_json(merged);
    if (summary == NULL)
        goto done;
    if (!cJSON_AddItemToObject(all, "summary", summary)) {
        cJSON_Delete(summary);
        goto done;
    }
    (void)snprintf(title, sizeof title, "%zu processes of one tree, from pid %lld", count,
                   (long long)ins[0]->snapshot->pid);
    if (add_histogram(all, merged) != 0 || add_num(root, "worst", (double)worst) != 0 ||
        add_num(root, "schema_version", 1) != 0 ||
        cJSON_AddStringToObject(root, "title", title) == NULL)
        goto done;
    result = root;
    root = NULL;
done:
    free(merged);
    cJSON_Delete(root);
    return result;
}

/* Writes `json` into the page: every '<' becomes \u003c, which JSON reads
 * back as the same character, so no text in the data (a path, a command)
 * can close the script element. */
static int write_json(int fd, const char *json)
{
    static const char esc[] = "\\u003c";
    const char *p = json;
    int status = 0;

    while (status == 0 && *p != '\0') {
        const char *lt = strchr(p, '<');
        size_t len = lt != NULL ? (size_t)(lt - p) : strlen(p);

        if (len > 0)
            status = gcm__write_all(fd, p, len) == 0 ? 0 : GCM_EIO;
        if (status == 0 && lt != NULL)
            status = gcm__write_all(fd, esc, sizeof esc - 1) == 0 ? 0 : GCM_EIO;
        p += len + (lt != NULL ? 1 : 0);
    }
    return status;
}

int gcm_html_render_fd(const gcm_report_input *in, int fd)
{
    return gcm_html_render_many_fd(&in, 1, fd);
}

int gcm_html_render_many_fd(const gcm_report_input *const *ins, size_t count, int fd)
{
    static const char open_data[] = "<script type=\"application/json\" id=\"gcm-data\">";
    static const char close_data[] = "</script>\n";
    cJSON *data = NULL;
    char *json = NULL;
    int status = GCM_EINVAL;

    if (!gcm__inputs_valid(ins, count))
        goto done;
    status = GCM_ENOMEM;
    data = count == 1 ? page_data(ins[0], HTML_POINTS_MAX, 0) : tree_data(ins, count);
    if (data == NULL)
        goto done;
    json = cJSON_PrintUnformatted(data);
    if (json == NULL)
        goto done;
    status = GCM_EIO;
    if (gcm__write_all(fd, page_head, sizeof page_head - 1) != 0 ||
        gcm__write_all(fd, open_data, sizeof open_data - 1) != 0)
        goto done;
    status = write_json(fd, json);
    if (status != 0)
        goto done;
    status = GCM_EIO;
    if (gcm__write_all(fd, close_data, sizeof close_data - 1) != 0 ||
        gcm__write_all(fd, page_script, sizeof page_script - 1) != 0)
        goto done;
    status = 0;
done:
    cJSON_free(json);
    cJSON_Delete(data);
    return status;
}

int gcm_report_write_html(const gcm_report_input *in)
{
    return gcm__write_report_file(
        in, in != NULL && in->config != NULL ? in->config->html_file : NULL, gcm_html_render_fd);
}
